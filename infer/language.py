"""Is this text Persian? The one check behind the label command's "no Persian
text" error record and the ``not_persian`` flag of the Python API's results.

The model was trained on Persian only; on other text its scores are not a
reading of anything, so both paths must draw the line in the same place.
"""
from __future__ import annotations

import re

MIN_PERSIAN_SHARE = 0.3
"""Least share of the letters that must be in the Persian/Arabic script."""

_PERSIAN = re.compile("[\u0600-\u06ff]")
_LETTER = re.compile(r"[^\W\d_]")


def is_persian(text: str, min_share: float = MIN_PERSIAN_SHARE) -> bool:
    """True when at least ``min_share`` of the letters of ``text`` are
    Persian/Arabic script (a text without letters is not Persian)."""
    letters = _LETTER.findall(text)
    persian = sum(1 for ch in letters if _PERSIAN.match(ch))
    return bool(letters) and persian / len(letters) >= min_share


def not_persian_message(min_share: float = MIN_PERSIAN_SHARE) -> str:
    return f"no Persian text (less than {min_share:.0%} of the letters are Persian/Arabic script)"
