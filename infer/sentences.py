"""Splitting Persian news text into sentences.

Works on one line (paragraph) of normalised text and returns character spans.
Compared with hazm's ``SentenceTokenizer`` (a split after ``[!.?؟]+`` followed
by a space), it also:

- ends a sentence at a line break, so headlines without a full stop stand alone;
- splits where a scraper glued two sentences together («… شد.برای …»);
- keeps decimals (``2.5``), dotted abbreviations (``ه.ش.``, ``ج.ا.ا``, ``U.S.``)
  and ellipses inside the sentence;
- keeps a quotation «…» whole when it holds several sentences, unless the quote
  runs on for longer than ``max_quote_chars``;
- does not split at a colon, so «… گفت: …» stays one sentence;
- splits a headline at a spaced slash between two statements («… برسد/ نباید …»).
"""
from __future__ import annotations

import re
from functools import lru_cache

from .lexicon import _hazm_data_dir

_ENDERS = ".!?؟"
_CLOSERS = "»\")]}’”'"
_LETTER = re.compile(r"[^\W\d_]")
_SINGLE_LETTER_ABBREV = re.compile(r"^(?:[^\W\d_]\.)+[^\W\d_]?$")
_HEADLINE_SLASH = re.compile(r"\s*/\s+|\s+/\s*")


@lru_cache(maxsize=1)
def _abbreviations() -> frozenset[str]:
    words = set()
    try:
        with open(_hazm_data_dir() / "abbreviations.dat", encoding="utf-8") as f:
            words = {line.strip().rstrip(".") for line in f if line.strip()}
    except (OSError, RuntimeError):
        pass
    words |= {"Dr", "Mr", "Mrs", "Ms", "Prof", "St", "Inc", "Ltd", "Co", "vs", "etc", "No", "Jr", "Sr"}
    return frozenset(words)


def _is_abbreviation(line: str, dot: int) -> bool:
    """The full stop at ``line[dot]`` belongs to an abbreviation."""
    start = dot
    while start > 0 and not line[start - 1].isspace() and line[start - 1] not in "(«\"":
        start -= 1
    word = line[start:dot]
    if not word:
        return False
    if _SINGLE_LETTER_ABBREV.match(word + ".") or word in _abbreviations():
        return True
    # a dotted run continues after this dot: ج.ا.ا, U.S.A
    nxt = line[dot + 1: dot + 3]
    return len(word) == 1 and len(nxt) == 2 and nxt[1] == "." and _LETTER.match(nxt[0]) is not None


def split_line(line: str, max_quote_chars: int = 400) -> list[tuple[int, int]]:
    """Sentence spans ``[start, end)`` of one line of normalised text."""
    spans: list[tuple[int, int]] = []
    start = 0
    n = len(line)
    quote_open_at: int | None = None
    ascii_quote_open = False
    i = 0
    while i < n:
        ch = line[i]
        if ch == "«":
            quote_open_at = i if quote_open_at is None else quote_open_at
        elif ch == "»":
            quote_open_at = None
        elif ch == '"':
            ascii_quote_open = not ascii_quote_open
        if ch in _ENDERS:
            j = i
            while j < n and line[j] in _ENDERS:
                j += 1
            run = line[i:j]
            k = j
            while k < n and line[k] in _CLOSERS:
                if line[k] == "»":
                    quote_open_at = None
                elif line[k] == '"':
                    ascii_quote_open = not ascii_quote_open
                k += 1
            if _is_boundary(line, i, j, k, run):
                in_quote = (quote_open_at is not None and i - quote_open_at <= max_quote_chars) or ascii_quote_open
                if not in_quote:
                    spans.append((start, k))
                    start = k
            i = k
            continue
        i += 1
    spans.append((start, n))
    out = []
    for s, e in spans:
        while s < e and line[s].isspace():
            s += 1
        while e > s and line[e - 1].isspace():
            e -= 1
        if s < e and _LETTER.search(line, s, e):
            out.append((s, e))
    return out


def _is_boundary(line: str, i: int, j: int, k: int, run: str) -> bool:
    n = len(line)
    after = line[k] if k < n else ""
    if run == ".":
        if i > 0 and line[i - 1].isdigit() and after.isdigit():
            return False  # decimal
        if _is_abbreviation(line, i):
            return False
    if run.startswith(".."):
        # «و ...» trails off mid-sentence far more often than it ends one
        return not line[k:].strip()
    if not after or after.isspace():
        return True
    # Two sentences glued by a scraper: «شد.برای». A Latin letter after the dot is
    # more often a domain or an abbreviation, so only letters of Persian script count.
    if after in "«\"" and k + 1 < n and "\u0600" <= line[k + 1] <= "\u06ff":
        return line[i - 1:i].isalpha()  # «… خبر داد.«سید عباس عراقچی» …»
    return "\u0600" <= after <= "\u06ff" and line[i - 1:i].isalpha()


def split_headline(line: str, span: tuple[int, int]) -> list[tuple[int, int]]:
    """A headline of two statements joined by a spaced slash becomes two sentences."""
    s, e = span
    text = line[s:e]
    if text and text[-1] in _ENDERS:
        return [span]
    parts, pos = [], 0
    for m in _HEADLINE_SLASH.finditer(text):
        parts.append((pos, m.start()))
        pos = m.end()
    parts.append((pos, len(text)))
    if len(parts) < 2 or any(len(text[a:b].split()) < 3 for a, b in parts):
        return [span]
    return [(s + a, s + b) for a, b in parts]


def split_sentences(text: str, max_quote_chars: int = 400) -> list[tuple[int, int]]:
    """Sentence spans of a text of one or more lines (already normalised)."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        for span in split_line(line, max_quote_chars):
            for s, e in split_headline(line, span):
                spans.append((offset + s, offset + e))
        offset += len(line) + 1
    return spans
