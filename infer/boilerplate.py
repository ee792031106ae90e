"""Recognising the boilerplate of scraped news pages.

The patterns themselves are data (``data/boilerplate.toml``); this module only
compiles and applies them. They match normalised text.
"""
from __future__ import annotations

import re
from functools import lru_cache

from .resources import read_toml

_TRAILING = re.compile(r"[\s.:!؟?،,;؛\-–—|*•]+$")


class Boilerplate:
    def __init__(self, lines: list[str], inline: list[str]):
        self._lines = [re.compile(p) for p in lines]
        self._inline = [re.compile(p) for p in inline]

    @classmethod
    @lru_cache(maxsize=1)
    def default(cls) -> "Boilerplate":
        cfg = read_toml("boilerplate.toml")
        return cls(cfg.get("lines", []), cfg.get("inline", []))

    def is_boilerplate_line(self, line: str) -> bool:
        core = _TRAILING.sub("", line.strip())
        if not core:
            return True
        return any(p.search(core) for p in self._lines)

    def inline_spans(self, line: str) -> list[tuple[int, int]]:
        """Spans of ``line`` to cut out: boilerplate phrases glued to real text."""
        spans = []
        for p in self._inline:
            spans.extend(m.span() for m in p.finditer(line) if m.end() > m.start())
        return sorted(spans)
