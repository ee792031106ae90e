"""The project's labelled data: authored corpus splits, real-news pool splits
and the seed sentences.

A data argument (config ``data.train``/``data.dev``, ``--data``) is one of:

- ``train``, ``dev``, ``test``: the authored corpus splits (by writing batch);
- ``real-train``, ``real-dev``, ``real-test``: the labelled real-news pool
  sentences (by article), stored as references (see :mod:`.realnews`);
- ``real-train-round3``: the third labelling round, more real train sentences
  (``tools/select_real_pool.py --round3``), kept apart from ``real-train`` so
  that configs written before it still train on the same data;
- ``seeds``: the gold labels of the five seed articles;
- a path to a labelled JSON Lines file.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

from .records import Record, load_records

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
SPLITS_FILE = DATA_DIR / "splits.toml"
SEEDS_FILE = DATA_DIR / "seeds.jsonl"
AUTHORED_DIR = DATA_DIR / "authored"
REALNEWS_DIR = DATA_DIR / "realnews"
SPLIT_NAMES = ("train", "dev", "test")
REAL_SPLITS = {f"real-{s}": REALNEWS_DIR / f"{s}.jsonl" for s in (*SPLIT_NAMES, "train-round3")}


def batch_files(authored_dir: Path = AUTHORED_DIR) -> dict[str, Path]:
    files = {}
    for p in sorted(authored_dir.glob("b*.jsonl")):
        m = re.fullmatch(r"(b\d+)\.jsonl", p.name)
        if m:
            files[m.group(1)] = p
    return files


def split_files(split: str, splits_file: Path = SPLITS_FILE, authored_dir: Path = AUTHORED_DIR) -> list[Path]:
    """Files of one split of the authored corpus."""
    if split not in SPLIT_NAMES:
        raise ValueError(f"unknown split {split!r}; one of {SPLIT_NAMES}")
    with open(splits_file, "rb") as f:
        spec = tomllib.load(f)
    files = batch_files(authored_dir)
    test, dev = list(spec.get("test", [])), list(spec.get("dev", []))
    overlap = set(test) & set(dev)
    if overlap:
        raise ValueError(f"{splits_file}: batches in both test and dev: {sorted(overlap)}")
    unknown = sorted(set(test + dev) - set(files))
    if unknown:
        raise ValueError(f"{splits_file}: batches with no file in {authored_dir}: {unknown}")
    if split == "test":
        return [files[b] for b in test]
    if split == "dev":
        return [files[b] for b in dev]
    return [p for b, p in files.items() if b not in set(test) | set(dev)]


def load_split(split: str) -> list[Record]:
    return load_records(split_files(split))


def resolve_data(spec: str) -> list[Path]:
    """A data argument: a split name (train/dev/test, real-train/real-dev/real-test,
    real-train-round3),
    ``seeds``, or a file path."""
    if spec in SPLIT_NAMES:
        return split_files(spec)
    if spec in REAL_SPLITS:
        return [REAL_SPLITS[spec]]
    if spec == "seeds":
        return [SEEDS_FILE]
    return [Path(spec)]


def needs_pool(spec: str) -> bool:
    """Whether a data argument's text lives in the real-news pool."""
    return spec in REAL_SPLITS


def training_data(specs: list[str], log=None) -> list[Path]:
    """Files for training or model selection. Real-news splits are dropped, with a
    message, when the pool is not on this machine: training then goes on with
    the authored data instead of failing on a clone without ``../shared``."""
    from .realnews import pool_path

    files = []
    for spec in specs:
        if needs_pool(spec) and not pool_path().is_file():
            message = (f"data {spec!r} skipped: its text lives in the real-news pool, which is not at "
                       f"{pool_path()} (set $PERSIAN_STANCE_POOL); training on the other data")
            (log.warning if log else print)(message)
            continue
        files.extend(resolve_data(spec))
    return files
