"""Article → sentences: normalise, drop boilerplate, split, map back.

Each sentence keeps two views: ``text``, the exact slice of the user's original
input (what a reader should see, and what actor spans point into), and
``normalized``, what the encoder and the actor detector read.
"""
from __future__ import annotations

from dataclasses import dataclass

from .boilerplate import Boilerplate
from .normalize import Normalized, Normalizer
from .sentences import split_sentences


@dataclass(frozen=True)
class Sentence:
    index: int
    text: str
    normalized: str
    start: int
    """Start of ``text`` in the original input."""
    end: int
    offsets: tuple[int, ...]
    """For each character of ``normalized`` (plus one for its end), the index in
    ``text`` it came from: the article is normalised once, and each sentence keeps
    its share of that work instead of being normalised again."""

    def normalization(self) -> Normalized:
        return Normalized(self.normalized, self.offsets)


def segment_article(
    text: str,
    normalizer: Normalizer | None = None,
    boilerplate: Boilerplate | None = None,
    dedupe: bool = True,
) -> list[Sentence]:
    """Split an article into sentences with boilerplate removed.

    With ``dedupe`` a sentence repeated within the article (scraped pages often
    repeat the lead) is kept once, at its first position.
    """
    normalizer = normalizer or Normalizer()
    boilerplate = boilerplate if boilerplate is not None else Boilerplate.default()
    norm = normalizer.normalize_with_offsets(text)
    kept = _mask_boilerplate(norm.text, boilerplate)
    out: list[Sentence] = []
    seen: set[str] = set()
    for s, e in split_sentences(kept):
        sentence_norm = kept[s:e].strip()
        if not sentence_norm:
            continue
        s += len(kept[s:e]) - len(kept[s:e].lstrip())
        e = s + len(sentence_norm)
        if dedupe:
            key = sentence_norm.replace("\u200c", "").replace(" ", "")
            if key in seen:
                continue
            seen.add(key)
        o_start, o_end = norm.original_span(s, e)
        offsets = tuple(o - o_start for o in norm.offsets[s:e]) + (o_end - o_start,)
        out.append(Sentence(len(out), text[o_start:o_end], sentence_norm, o_start, o_end, offsets))
    return out


def _mask_boilerplate(text: str, boilerplate: Boilerplate) -> str:
    """Blank out boilerplate with spaces (keeping every offset valid)."""
    lines = text.split("\n")
    out = []
    for line in lines:
        if boilerplate.is_boilerplate_line(line):
            out.append(" " * len(line))
            continue
        chars = list(line)
        for s, e in boilerplate.inline_spans(line):
            chars[s:e] = " " * (e - s)
        out.append("".join(chars))
    return "\n".join(out)

