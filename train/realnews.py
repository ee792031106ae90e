"""Labelled real news kept as references: the text stays in the pool.

The real-news pool (``../shared/realnews/pool.jsonl``) may be labelled and
trained on, but its licences are research-only, so none of its text enters the
repository. A labelled pool sentence is stored as a reference plus labels::

    {"id": "rn-3f0c2a91d4", "article": "<pool article id>", "start": 120, "end": 311,
     "hash": "9b1e4c07d2aa", "topics": ["sanctions"], "stances": {"usa": "against"},
     "source": "realnews"}

``start``/``end`` are character offsets into the pool article's ``text``;
``hash`` is :func:`sentence_hash` of that slice. :mod:`.records` joins the text
at load time through :class:`Pool` and checks the hash, so an edited or
re-ordered pool fails loudly instead of training on the wrong sentence.

The pool is found at ``$PERSIAN_STANCE_POOL`` or, by default, at
``../shared/realnews/pool.jsonl`` next to the repository.
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from persian_stance.infer.jsonl import iter_objects

REPO_DIR = Path(__file__).resolve().parents[1]
POOL_ENV = "PERSIAN_STANCE_POOL"
DEFAULT_POOL = REPO_DIR.parent / "shared" / "realnews" / "pool.jsonl"
REFERENCE_FIELDS = ("article", "start", "end", "hash")
HASH_CHARS = 12


def sentence_hash(text: str) -> str:
    """Short content hash of a sentence exactly as sliced from the article."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:HASH_CHARS]


def reference_id(article: str, start: int) -> str:
    """A stable record id from where the sentence sits (no text in it)."""
    return "rn-" + hashlib.sha1(f"{article}\0{start}".encode("utf-8")).hexdigest()[:10]


def pool_path(path: str | Path | None = None) -> Path:
    """The pool file: the argument, else ``$PERSIAN_STANCE_POOL``, else the default."""
    if path is not None:
        return Path(path)
    env = os.environ.get(POOL_ENV)
    return Path(env) if env else DEFAULT_POOL


class PoolMissing(FileNotFoundError):
    """The pool file is not there (a clone without ``../shared``)."""


class Pool:
    """The pool's article texts by id, read once."""

    def __init__(self, path: Path, texts: dict[str, str]):
        self.path = path
        self.texts = texts

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Pool":
        return _load_pool(pool_path(path).resolve())

    def resolve(self, article: str, start: int, end: int, expected_hash: str) -> str:
        """The sentence a reference points to; ``ValueError`` says what does not match."""
        text = self.texts.get(article)
        if text is None:
            raise ValueError(f"article {article!r} is not in the pool {self.path}")
        if not (0 <= start < end <= len(text)):
            raise ValueError(f"offsets {start}:{end} lie outside article {article!r} ({len(text)} characters)")
        sentence = text[start:end]
        got = sentence_hash(sentence)
        if got != expected_hash:
            raise ValueError(f"hash mismatch for {article!r} {start}:{end}: the pool gives {got}, "
                             f"the reference says {expected_hash} (has the pool changed?)")
        return sentence


@lru_cache(maxsize=4)
def _load_pool(path: Path) -> Pool:
    if not path.is_file():
        raise PoolMissing(f"real-news pool not found at {path} (set ${POOL_ENV} to its path)")
    texts: dict[str, str] = {}
    for n, obj in iter_objects(path):
        if not isinstance(obj.get("id"), str) or not isinstance(obj.get("text"), str):
            raise ValueError(f"{path}:{n}: not a pool article (needs string 'id' and 'text')")
        texts[obj["id"]] = obj["text"]
    return Pool(path, texts)


def is_reference(obj: dict) -> bool:
    """A record that points into the pool instead of holding its text."""
    return "text" not in obj and any(k in obj for k in REFERENCE_FIELDS)
