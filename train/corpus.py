"""The project's labelled data: authored corpus splits and the seed sentences."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

from .records import Record, load_records

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
SPLITS_FILE = DATA_DIR / "splits.toml"
SEEDS_FILE = DATA_DIR / "seeds.jsonl"
AUTHORED_DIR = DATA_DIR / "authored"
SPLIT_NAMES = ("train", "dev", "test")


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
    """A data argument: a split name (train/dev/test), ``seeds``, or a file path."""
    if spec in SPLIT_NAMES:
        return split_files(spec)
    if spec == "seeds":
        return [SEEDS_FILE]
    return [Path(spec)]
