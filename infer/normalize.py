"""Persian text normalisation that keeps track of where every character came from.

What it does, in order:

1. folds Arabic letter forms to Persian (ي ى → ی, ك → ک, presentation forms to
   their base letters) and removes diacritics, kashida, bidi controls and other
   invisible marks — but **keeps** the zero-width non-joiner (U+200C);
2. applies one digit policy (Latin digits by default: the e5/XLM-R vocabulary
   has pieces for Latin numbers, while Persian digits are mostly split one
   character a piece; the README's "How it works" gives the measured counts);
3. collapses whitespace, drops stray ZWNJs at word edges;
4. restores missing half-spaces the way hazm does it, from hazm's lexicon:
   ``میتوانند`` → ``می‌توانند``, ``همکاریهای`` → ``همکاری‌های``,
   ``رئیس جمهور`` → ``رئیس‌جمهور``.

The result is idempotent: normalising normalised text changes nothing.
``normalize_with_offsets`` also returns, for every output character, the index
of the input character it came from, so spans found in normalised text can be
reported in the user's original text.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Callable, Literal

from .lexicon import Lexicon, load_lexicon

ZWNJ = "\u200c"

_LETTER_FOLD = {
    "\u064a": "ی",  # ARABIC LETTER YEH
    "\u0649": "ی",  # ALEF MAKSURA
    "\u06d0": "ی", "\u06cd": "ی", "\u06ce": "ی", "\u06d1": "ی",
    "\u0643": "ک",  # ARABIC LETTER KAF
    "\u06aa": "ک", "\u06ab": "ک",
    "\u06c0": "ه",  # HEH WITH YEH ABOVE (ezafe written on the letter)
    "\u06c1": "ه", "\u06c2": "ه", "\u06c3": "ه", "\u06d5": "ه", "\u06be": "ه",
    "\u0629": "ه",  # TEH MARBUTA, as hazm folds it
}
_PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
_ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
_LATIN_DIGITS = "0123456789"

# Removed outright: diacritics (harakat, superscript alef, hamza above/below),
# kashida, bidi controls, zero-width space/joiner, BOM, soft hyphen.
_REMOVE = set(
    [chr(c) for c in range(0x064B, 0x0660)]
    + ["\u0670", "\u0640", "\u00ad", "\u200b", "\u200d", "\ufeff", "\u200e", "\u200f"]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
)

_PERSIAN_LETTERS = "آابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیئأإؤء"
# Letters that do not join to the following letter: after them a suffix is
# written solid without any half-space (کشورها), so no ZWNJ is inserted.
_NON_JOINING = set("آادذرزژوؤأإء")
_WORD_RE = re.compile(f"[{_PERSIAN_LETTERS}{ZWNJ}]+")

_PLURAL_AND_COMPARATIVE = ("هایی", "های", "ها", "ترین", "تر")
# Indefinite/ezafe «ای» and enclitics written apart after a silent ه: «منطقه ای».
_AFTER_SILENT_HEH = frozenset({"ای", "ام", "ات", "اش", "ایم", "اید", "اند"})
_PRESENT_ENDINGS = ("م", "ی", "د", "یم", "ید", "ند")
_PAST_ENDINGS = ("", "م", "ی", "یم", "ید", "ند")
# Real words that look like می + verb; hazm's lexicon does not give them a frequency.
_NOT_MI_VERBS = frozenset({"میدانی", "میدانیها", "میلادی", "میراثی"})


DIGIT_POLICIES = ("latin", "persian", "keep")


@dataclass(frozen=True)
class NormalizerConfig:
    """Settings saved with every checkpoint, so training and inference agree."""

    digits: Literal["latin", "persian", "keep"] = "latin"
    fix_half_spaces: bool = True
    remove_diacritics: bool = True

    def __post_init__(self) -> None:
        # Checked here so that a training config and a checkpoint are held to the same rule.
        if self.digits not in DIGIT_POLICIES:
            raise ValueError(f"digits: unknown digit policy {self.digits!r} ({', '.join(DIGIT_POLICIES)})")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "NormalizerConfig":
        return cls(**{k: d[k] for k in ("digits", "fix_half_spaces", "remove_diacritics") if k in d})


@dataclass(frozen=True)
class Normalized:
    text: str
    offsets: tuple[int, ...]
    """``offsets[i]`` is the index in the original text of ``text[i]``; one extra
    entry maps the end of the text to the end of the original."""

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a ``[start, end)`` span of the normalised text to the original."""
        if start >= end:
            o = self.offsets[start]
            return o, o
        return self.offsets[start], self.offsets[end - 1] + 1


class _Tracked:
    """A string whose characters remember their position in the original."""

    __slots__ = ("chars", "src")

    def __init__(self, chars: list[str], src: list[int]):
        self.chars, self.src = chars, src

    @property
    def text(self) -> str:
        return "".join(self.chars)

    def sub(self, pattern: re.Pattern, repl: Callable[[re.Match], str]) -> None:
        """Regex substitution; replaced characters take the source index of the
        character they replace (position by position), extra ones the last."""
        text = self.text
        out_c: list[str] = []
        out_s: list[int] = []
        pos = 0
        for m in pattern.finditer(text):
            out_c.extend(self.chars[pos:m.start()])
            out_s.extend(self.src[pos:m.start()])
            new = repl(m)
            span_src = self.src[m.start():m.end()] or [self.src[m.start()] if m.start() < len(self.src) else self.src[-1]]
            for i, ch in enumerate(new):
                out_c.append(ch)
                out_s.append(span_src[min(i, len(span_src) - 1)])
            pos = m.end()
        out_c.extend(self.chars[pos:])
        out_s.extend(self.src[pos:])
        self.chars, self.src = out_c, out_s


class Normalizer:
    """Normalise Persian news text; see the module docstring for what it does."""

    def __init__(self, config: NormalizerConfig | None = None):
        self.config = config or NormalizerConfig()
        self._lexicon: Lexicon | None = None
        digit_target = {"latin": _LATIN_DIGITS, "persian": _PERSIAN_DIGITS}.get(self.config.digits)
        self._char_map: dict[str, str] = dict(_LETTER_FOLD)
        if digit_target is not None:
            for src_digits in (_PERSIAN_DIGITS, _ARABIC_DIGITS, _LATIN_DIGITS):
                for a, b in zip(src_digits, digit_target):
                    if a != b:
                        self._char_map[a] = b
            if self.config.digits == "latin":
                self._char_map["٫"] = "."  # Persian decimal separator
                self._char_map["٬"] = ","  # Persian thousands separator
                self._char_map["٪"] = "%"
        else:
            for a, b in zip(_ARABIC_DIGITS, _PERSIAN_DIGITS):
                self._char_map[a] = b

    @property
    def lexicon(self) -> Lexicon:
        if self._lexicon is None:
            self._lexicon = load_lexicon()
        return self._lexicon

    def __call__(self, text: str) -> str:
        return self.normalize(text)

    def normalize(self, text: str) -> str:
        return self.normalize_with_offsets(text).text

    def normalize_with_offsets(self, text: str) -> Normalized:
        chars: list[str] = []
        src: list[int] = []
        for i, ch in enumerate(text):
            for out in self._map_char(ch):
                chars.append(out)
                src.append(i)
        t = _Tracked(chars, src)
        # Horizontal whitespace of any kind becomes one space; line breaks stay
        # (they separate headlines and paragraphs) but lose surrounding spaces.
        t.sub(re.compile(r"[^\S\n]+"), lambda m: " ")
        t.sub(re.compile(r" *\n[ \n]*"), lambda m: "\n\n" if m.group().count("\n") > 1 else "\n")
        t.sub(re.compile(f"{ZWNJ}{{2,}}"), lambda m: ZWNJ)
        # A ZWNJ next to a space, punctuation or the text edge joins nothing.
        t.sub(re.compile(f"{ZWNJ}(?=[^{_PERSIAN_LETTERS}]|$)|(?<![{_PERSIAN_LETTERS}]){ZWNJ}"), lambda m: "")
        if self.config.fix_half_spaces:
            self._fix_half_spaces(t)
        text_now = t.text
        # strip leading/trailing whitespace
        lead = len(text_now) - len(text_now.lstrip())
        trail = len(text_now.rstrip())
        chars, src = t.chars[lead:trail], t.src[lead:trail]
        end = len(text)
        return Normalized("".join(chars), tuple(src) + (src[-1] + 1 if src else end,))

    def _map_char(self, ch: str) -> str:
        if ch in self._char_map:
            return self._char_map[ch]
        if ch in _REMOVE:
            if not self.config.remove_diacritics and "\u064b" <= ch <= "\u065f":
                return ch
            return ""
        code = ord(ch)
        # Arabic presentation forms (contextual glyphs pasted from PDFs) and
        # ligatures such as ﻻ fold to their base letters.
        if 0xFB50 <= code <= 0xFDFF or 0xFE70 <= code <= 0xFEFF:
            base = unicodedata.normalize("NFKC", ch)
            return "".join(self._char_map.get(c, c) for c in base if c not in _REMOVE)
        return ch

    # -- half-spaces --------------------------------------------------------

    def _fix_half_spaces(self, t: _Tracked) -> None:
        lex = self.lexicon
        # 1. Words written apart that belong together, scanned left to right as
        #    hazm does (so «رئیس جمهور ها» can join twice): compounds the lexicon
        #    knows with a half-space, plural/comparative suffixes, and می + verb.
        text = t.text
        edits: dict[int, str] = {}  # index of a separating space -> replacement
        prev: str | None = None
        prev_end = -1
        for m in _WORD_RE.finditer(text):
            w = m.group()
            if prev is not None and m.start() == prev_end + 1 and text[prev_end] == " ":
                joiner = self._joiner(prev, w)
                if joiner is not None:
                    edits[prev_end] = joiner
                    prev, prev_end = prev + joiner + w, m.end()
                    continue
            prev, prev_end = w, m.end()
        if edits:
            t.sub(re.compile(" "), lambda mm: edits.get(mm.start(), " "))

        # 2. solid-written words that need a half-space inside.
        def split_word(m: re.Match) -> str:
            w = m.group()
            if ZWNJ in w or len(w) < 4:
                return w
            if w.startswith(("می", "نمی")) and self._is_mi_verb(w):
                k = 2 if w.startswith("می") else 3
                return w[:k] + ZWNJ + w[k:]
            if w in lex.frequent_words:
                return w
            # Every reading of w as stem + suffix whose stem is a word, against the
            # reading "word + ezafe ی" that needs no change; the most frequent stem
            # wins («منطقهای» → منطقه‌ای, not منطق‌های; «انتهای» stays). hazm's
            # lexicon also lists misspellings with frequency 0 (ایرانیها), so a
            # zero-frequency entry for w itself does not block a split.
            best: tuple[int, str, str] | None = None
            if w.endswith("ی") and w[:-1] in lex.words:
                best = (lex.words[w[:-1]], w, "")
            for suf in _PLURAL_AND_COMPARATIVE + ("ای",):
                stem = w[: -len(suf)]
                if not w.endswith(suf) or len(stem) < 2 or stem not in lex.words:
                    continue
                if suf == "ای" and stem[-1] != "ه":
                    continue
                if best is None or lex.words[stem] > best[0]:
                    best = (lex.words[stem], stem, suf)
            if best is None or not best[2] or best[1][-1] in _NON_JOINING:
                return w
            return best[1] + ZWNJ + best[2]

        t.sub(_WORD_RE, split_word)

    def _joiner(self, a: str, b: str) -> str | None:
        """What should stand between words ``a`` and ``b`` written apart, or None
        when the space is right."""
        lex = self.lexicon
        if a + ZWNJ + b in lex.frequent_words:
            return ZWNJ
        if b in _PLURAL_AND_COMPARATIVE and len(a) >= 2 and a.split(ZWNJ)[-1] in lex.words:
            return "" if a[-1] in _NON_JOINING else ZWNJ
        if a in ("می", "نمی") and self._is_mi_verb(a + b):
            return ZWNJ
        if a.endswith("ه") and len(a) >= 2 and b in _AFTER_SILENT_HEH:
            return ZWNJ
        return None

    def _is_mi_verb(self, word: str) -> bool:
        """``word`` (written solid or with a space) is می/نمی + a verb form."""
        w = word.replace(" ", "").replace(ZWNJ, "")
        if w in _NOT_MI_VERBS or w in self.lexicon.frequent_words:
            return False
        rest = w[3:] if w.startswith("نمی") else w[2:] if w.startswith("می") else None
        if not rest:
            return False
        lex = self.lexicon
        for end in _PRESENT_ENDINGS:
            if rest.endswith(end) and rest[: len(rest) - len(end)] in lex.present_stems:
                return True
        for end in _PAST_ENDINGS:
            stem = rest[: len(rest) - len(end)] if end else rest
            if rest.endswith(end) and stem in lex.past_stems:
                return True
        return False


_default: Normalizer | None = None


def normalize(text: str) -> str:
    """Normalise with the default settings (see :class:`Normalizer`)."""
    global _default
    if _default is None:
        _default = Normalizer()
    return _default.normalize(text)
