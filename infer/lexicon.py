"""hazm's Persian lexicon, read from the data files hazm ships.

hazm's own ``Normalizer`` decides where half-spaces belong by looking words up
in ``words.dat`` and the verb stems of ``verbs.dat``. We use the same files, but
read them directly: ``import hazm`` pulls in scikit-learn, gensim and nltk
(seconds of start-up), which the lightweight runtime must not do.
"""
from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Lexicon:
    words: dict[str, int]
    """Every entry of words.dat with its corpus frequency (hazm keeps many
    zero-frequency entries, which still count as words)."""
    frequent_words: frozenset[str]
    """Entries with a corpus frequency above zero (hazm's test for joining)."""
    past_stems: frozenset[str]
    present_stems: frozenset[str]


def _hazm_data_dir() -> Path:
    # find_spec locates the package without executing its __init__.
    spec = importlib.util.find_spec("hazm")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the hazm package is not installed; persian-stance needs its lexicon "
            "(pip install hazm==0.10.0)"
        )
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    if not (data / "words.dat").is_file():
        raise RuntimeError(f"hazm's lexicon file is missing: {data / 'words.dat'}")
    return data


@functools.lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    data = _hazm_data_dir()
    words: dict[str, int] = {}
    frequent = set()
    with open(data / "words.dat", encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                continue
            freq = int(parts[1]) if parts[1].isdigit() else 0
            words[parts[0]] = freq
            if freq > 0:
                frequent.add(parts[0])
    past, present = set(), set()
    with open(data / "verbs.dat", encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if "#" not in line:
                continue
            p, q = line.split("#", 1)
            if p:
                past.add(p)
            if q:
                present.add(q)
    return Lexicon(words, frozenset(frequent), frozenset(past), frozenset(present))
