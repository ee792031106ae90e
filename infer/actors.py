"""Finding the guideline's actors in a sentence, with character spans.

The gazetteer is data (``data/actors.toml``); this module compiles it into one
regular expression. Text is normalised first (with an offset map), so Arabic
letter forms, digits and missing half-spaces do not matter, and the spans
returned point into the text the caller passed in.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .labels import ACTORS
from .normalize import ZWNJ, Normalizer
from .resources import read_toml

_LETTERS = "آابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیئأإؤءة"
# Inflections an alias may carry: plural, ezafe, adjective, demonym, possessive.
_SUFFIXES = sorted(
    {
        "ها", "های", "هایی", "ی", "یان", "یی", "ییان", "ئی", "یها", "یهای",
        "ییها", "ییهای", "ئیها", "ش", "اش", "شان", "مان", "یش", "ست",
    }
    | {"ی" + ZWNJ + s for s in ("اش", "شان")}
    | {"ی" + ZWNJ + s for s in ("ها", "های", "هایی")}
    | {"یی" + ZWNJ + s for s in ("ها", "های", "هایی")}
    | {"ئی" + ZWNJ + s for s in ("ها", "های")}
    # «ای» only after a half-space (سوریه‌ای): written solid it makes other
    # words out of aliases (رؤسای ← روس).
    | {ZWNJ + "ای"},
    key=len,
    reverse=True,
)
_SUFFIX_RE = "(?:" + ZWNJ + "?(?:" + "|".join(map(re.escape, _SUFFIXES)) + "))?"
_SEP = f"[ {ZWNJ}]?"


@dataclass(frozen=True)
class Mention:
    actor: str
    start: int
    end: int
    surface: str

    def to_dict(self) -> dict[str, Any]:
        return {"actor": self.actor, "start": self.start, "end": self.end, "surface": self.surface}


def _alias_units(alias: str) -> list[str]:
    """An alias as regex units, one per character, tolerating the usual spelling
    variants: space/ZWNJ/nothing, آ/ا and ئ/ی."""
    units = []
    for ch in alias:
        if ch in (" ", ZWNJ):
            units.append(_SEP)
        elif ch in "آا":
            units.append("[آا]")
        elif ch in "ئی":
            units.append("[ئی]")
        else:
            units.append(re.escape(ch))
    return units


def _alias_pattern(alias: str) -> str:
    return "".join(_alias_units(alias))


def _trie_pattern(aliases: list[tuple[list[str], int, bool]]) -> str:
    trie: dict = {}
    for units, index, suffixes in aliases:
        node = trie
        for u in units:
            node = node.setdefault(u, {})
        node.setdefault(None, []).append((index, suffixes))

    def emit(node: dict) -> str:
        branches = [u + emit(child) for u, child in node.items() if u is not None]
        for index, suffixes in node.get(None, [])[:1]:  # the first alias listed wins a tie
            branches.append(f"(?P<a{index}>)" + (_SUFFIX_RE if suffixes else ""))
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return emit(trie)


def _key(s: str) -> str:
    """Spelling-insensitive key used to compare context words with the lists."""
    return re.sub(f"[ {ZWNJ}]", "", s).replace("آ", "ا").replace("ئ", "ی")


class ActorDetector:
    """Find actor mentions. ``detect`` returns every mention; ``actors`` the set."""

    def __init__(self, gazetteer: dict[str, Any], normalizer: Normalizer | None = None):
        self.normalizer = normalizer or Normalizer()
        actors = gazetteer.get("actor", {})
        unknown = set(actors) - set(ACTORS)
        if unknown:
            raise ValueError(f"gazetteer names unknown actors: {sorted(unknown)}")
        self.plain_names: dict[str, str] = {}
        """Each actor's plain name (``plain`` in the gazetteer), in ACTORS order."""
        entries: list[tuple[str, str, str]] = []  # (alias, actor, kind)
        self._not_before: dict[str, set[str]] = {}
        self._only_after: dict[str, set[str]] = {}
        for actor in ACTORS:
            spec = actors.get(actor, {})
            for kind in ("names", "exact", "capitals"):
                for alias in spec.get(kind, []):
                    entries.append((alias, actor, kind))
            if "plain" in spec:
                if spec["plain"] not in spec.get("names", []) + spec.get("exact", []):
                    raise ValueError(f"gazetteer: the plain name of {actor} ({spec['plain']}) is not one of its aliases")
                self.plain_names[actor] = spec["plain"]
            for alias, words in spec.get("not_before", {}).items():
                self._not_before[_key(alias)] = {_key(w) for w in words}
            for alias, words in spec.get("only_after", {}).items():
                self._only_after[_key(alias)] = {_key(w) for w in words}
        self._entries = entries
        # One regex for all aliases, shaped as a trie so that matching costs
        # about one pass over the text (an alternation of hundreds of aliases
        # would be tried alias by alias at every position). An empty named group
        # marks where each alias ends; longer continuations are tried first.
        self._regex = re.compile(
            f"(?<![{_LETTERS}])(?:ضد{ZWNJ}?)?"  # «ضد» written solid before an alias still names it
            + _trie_pattern([(_alias_units(alias), i, kind == "names") for i, (alias, _a, kind) in enumerate(entries)])
            + f"(?![{_LETTERS}]|{ZWNJ}[{_LETTERS}])"
        )
        exclude = gazetteer.get("exclude", {})
        phrases = sorted(exclude.get("phrases", []), key=len, reverse=True)
        self._exclude = (
            re.compile(
                f"(?<![{_LETTERS}])(?:" + "|".join(_alias_pattern(p) for p in phrases) + f")(?![{_LETTERS}])"
            )
            if phrases
            else None
        )
        self._place_before = {_key(w) for w in exclude.get("place_before", [])}

    @classmethod
    def default(cls) -> "ActorDetector":
        return _default_detector()

    def detect(self, text: str) -> list[Mention]:
        """All mentions in ``text`` (any spelling), spans into ``text`` itself."""
        norm = self.normalizer.normalize_with_offsets(text)
        out = []
        for m in self.find(norm.text):
            os_, oe = norm.original_span(m.start, m.end)
            out.append(Mention(m.actor, os_, oe, text[os_:oe]))
        return out

    def find(self, normalized: str) -> list[Mention]:
        """All mentions in text that is already normalised (the preparation step
        normalises each sentence once and looks for actors here); spans into it."""
        t = normalized
        blocked: list[tuple[int, int]] = []
        if self._exclude is not None:
            blocked = [m.span() for m in self._exclude.finditer(t)]
        out = []
        for m in self._regex.finditer(t):
            group = m.lastgroup
            alias, actor, kind = self._entries[int(group[1:])]
            s, e = m.span()
            if any(bs <= s and e <= be for bs, be in blocked):
                continue
            if not self._context_allows(t, s, e, alias, kind):
                continue
            out.append(Mention(actor, s, e, t[s:e]))
        return out

    def actors(self, text: str) -> list[str]:
        """The mentioned actors, in the guideline's order."""
        found = {m.actor for m in self.detect(text)}
        return [a for a in ACTORS if a in found]

    def _context_allows(self, t: str, s: int, e: int, alias: str, kind: str) -> bool:
        prev_word = _word_before(t, s)
        next_word = _word_after(t, e)
        k = _key(alias)
        if k in self._not_before and _key(next_word) in self._not_before[k]:
            return False
        if k in self._only_after:
            # «کشورهای غربی», also with one word between: «مقام‌های اطلاعاتی غربی»
            before = {_key(prev_word), _key(_word_before(t, s, 2).split(" ")[0])}
            if not before & self._only_after[k]:
                return False
        if kind == "capitals":
            two_before = _key(_word_before(t, s, 2))
            if _key(prev_word) in self._place_before or two_before in self._place_before:
                return False
        return True


def _word_before(t: str, s: int, n: int = 1) -> str:
    words = re.findall(f"[{_LETTERS}{ZWNJ}]+", t[max(0, s - 60):s])
    if len(words) < n:
        return ""
    return " ".join(words[-n:]) if n > 1 else words[-1]


def _word_after(t: str, e: int) -> str:
    m = re.match(f"\\s*([{_LETTERS}{ZWNJ}]+)", t[e:e + 40])
    return m.group(1) if m else ""


@lru_cache(maxsize=1)
def _default_detector() -> ActorDetector:
    return ActorDetector(read_toml("actors.toml"))


def detect_actors(text: str) -> list[str]:
    """Actors mentioned in ``text`` according to the shipped gazetteer."""
    return ActorDetector.default().actors(text)

