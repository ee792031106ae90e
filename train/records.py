"""Reading and checking labelled files (JSON Lines, ANNOTATION.md v1.1).

This is the only way labelled data enters the project: ``persian-stance
validate`` reports what this module finds, and training, evaluation and the
corpus scripts load data through :func:`load_records`, which refuses a file
with errors. Every problem names the file, the line and what is wrong.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Literal

from persian_stance.infer.actors import ActorDetector
from persian_stance.infer.errors import UserError
from persian_stance.infer.jsonl import json_error
from persian_stance.infer.labels import ACTORS, STANCES, TOPICS

from .realnews import REFERENCE_FIELDS, Pool, PoolMissing, is_reference

REQUIRED_FIELDS = ("id", "text", "topics", "stances")
OPTIONAL_FIELDS = ("source",)


@dataclass(frozen=True)
class Record:
    id: str
    text: str
    topics: tuple[str, ...]
    stances: dict[str, str]
    source: str | None
    path: str
    line: int
    reference: dict | None = None
    """For real-news pool sentences: article, start, end, hash. ``text`` was
    joined from the pool at load time and is never written back."""

    def to_json(self) -> dict:
        if self.reference is not None:
            out = {"id": self.id, **self.reference}
        else:
            out = {"id": self.id, "text": self.text}
        out.update(topics=list(self.topics), stances=dict(self.stances))
        if self.source is not None:
            out["source"] = self.source
        return out


@dataclass(frozen=True)
class Issue:
    path: str
    line: int
    level: Literal["error", "warning"]
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.level}: {self.message}"


class DataError(UserError, ValueError):
    """A labelled file failed validation; ``issues`` lists every problem."""

    def __init__(self, issues: list[Issue]):
        self.issues = issues
        errors = [i for i in issues if i.level == "error"]
        shown = "\n".join(str(i) for i in errors[:20])
        more = f"\n… and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} error(s) in labelled data:\n{shown}{more}")


@dataclass
class _Seen:
    ids: dict[str, tuple[str, int]] = field(default_factory=dict)
    texts: dict[str, tuple[str, int]] = field(default_factory=dict)
    pool: Pool | None = None
    pool_error: str | None = None
    pool_error_files: set[str] = field(default_factory=set)

    def load_pool(self) -> Pool | None:
        """The real-news pool, read at the first reference record (never for
        files that hold their own text)."""
        if self.pool is None and self.pool_error is None:
            try:
                self.pool = Pool.load()
            except (PoolMissing, ValueError) as e:
                self.pool_error = str(e)
        return self.pool


def text_key(text: str) -> str:
    """Two texts are duplicates when they differ only in spacing, half-spaces or
    Arabic/Persian letter forms."""
    return re.sub(r"[\s\u200c]+", "", text).replace("ي", "ی").replace("ك", "ک")


def check_files(
    paths: Iterable[str | Path],
    detector: ActorDetector | None = None,
    check_mentions: bool = True,
) -> tuple[list[Record], list[Issue]]:
    """Read and check files together (ids and texts must be unique across them)."""
    if check_mentions and detector is None:
        detector = ActorDetector.default()
    seen = _Seen()
    records: list[Record] = []
    issues: list[Issue] = []
    for path in paths:
        r, i = _check_file(Path(path), seen, detector if check_mentions else None)
        records.extend(r)
        issues.extend(i)
    return records, issues


def load_records(paths: Iterable[str | Path], check_mentions: bool = False) -> list[Record]:
    """Load labelled files, raising :class:`DataError` if any has an error.

    Mention warnings are not needed to load (they never make data unusable);
    ``persian-stance validate`` shows them.
    """
    records, issues = check_files(paths, check_mentions=check_mentions)
    if any(i.level == "error" for i in issues):
        raise DataError(issues)
    return records


def _check_file(path: Path, seen: _Seen, detector: ActorDetector | None) -> tuple[list[Record], list[Issue]]:
    name = str(path)
    records: list[Record] = []
    issues: list[Issue] = []

    def add(line: int, level: str, msg: str) -> None:
        issues.append(Issue(name, line, level, msg))  # type: ignore[arg-type]

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        add(0, "error", "file not found")
        return records, issues
    except IsADirectoryError:
        add(0, "error", "is a directory, not a JSON Lines file")
        return records, issues
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        add(0, "error", "file is empty")
    for n, bline in enumerate(lines, 1):
        try:
            line = bline.decode("utf-8")
        except UnicodeDecodeError as e:
            add(n, "error", f"not valid UTF-8 (byte {e.start}: {bline[e.start:e.start + 1]!r})")
            continue
        if n == 1 and line.startswith("\ufeff"):
            line = line[1:]
        if not line.strip():
            add(n, "warning", "blank line (skipped)")
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            add(n, "error", f"not valid JSON: {json_error(e)}")
            continue
        if not isinstance(obj, dict):
            add(n, "error", f"expected a JSON object, got {type(obj).__name__}")
            continue
        rec = _check_record(obj, name, n, add, seen, detector)
        if rec is not None:
            records.append(rec)
    return records, issues


def _claim(table: dict, key: str, name: str, n: int) -> tuple[str, int] | None:
    """Where ``key`` was first seen, or None after recording this place as its first."""
    if key in table:
        return table[key]
    table[key] = (name, n)
    return None


def _resolve_reference(obj: dict, name: str, n: int, add, seen: _Seen) -> tuple[str | None, dict | None]:
    """Text and reference of a record that points into the real-news pool."""
    article, start, end, digest = (obj[k] for k in REFERENCE_FIELDS)
    bad = []
    if not isinstance(article, str) or not article:
        bad.append(f"'article' must be a non-empty string, got {article!r}")
    for key, value in (("start", start), ("end", end)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            bad.append(f"'{key}' must be a non-negative integer, got {value!r}")
    if not isinstance(digest, str) or not digest:
        bad.append(f"'hash' must be a non-empty string, got {digest!r}")
    for b in bad:
        add(n, "error", b)
    if bad:
        return None, None
    pool = seen.load_pool()
    if pool is None:
        if name not in seen.pool_error_files:  # once per file, not once per record
            seen.pool_error_files.add(name)
            add(n, "error", f"cannot resolve references to the real-news pool: {seen.pool_error}; "
                            "no reference in this file can be read")
        return None, None
    try:
        text = pool.resolve(article, start, end, digest)
    except ValueError as e:
        add(n, "error", f"broken reference: {e}")
        return None, None
    return text, {"article": article, "start": start, "end": end, "hash": digest}


def _check_record(obj: dict, name: str, n: int, add, seen: _Seen, detector: ActorDetector | None) -> Record | None:
    ok = True
    reference = None
    required = REQUIRED_FIELDS
    if is_reference(obj):
        required = ("id", *REFERENCE_FIELDS, "topics", "stances")
    missing = [f for f in required if f not in obj]
    if missing:
        add(n, "error", f"missing field(s): {', '.join(missing)}")
        return None
    extra = sorted(set(obj) - set(required) - set(OPTIONAL_FIELDS))
    if extra:
        add(n, "warning", f"unknown field(s) ignored: {', '.join(extra)}")
    if required is not REQUIRED_FIELDS:
        text, reference = _resolve_reference(obj, name, n, add, seen)
        if text is None:
            return None
    else:
        text = obj["text"]

    rid, topics, stances = obj["id"], obj["topics"], obj["stances"]
    if not isinstance(rid, str) or not rid.strip():
        add(n, "error", f"'id' must be a non-empty string, got {rid!r}")
        ok = False
    elif first := _claim(seen.ids, rid, name, n):
        add(n, "error", f"duplicate id {rid!r} (first at {first[0]}:{first[1]})")
        ok = False

    if not isinstance(text, str) or not text.strip():
        add(n, "error", "'text' is empty" if isinstance(text, str) else f"'text' must be a string, got {type(text).__name__}")
        ok = False
    elif first := _claim(seen.texts, text_key(text), name, n):
        add(n, "error", f"duplicate text (same as {first[0]}:{first[1]})")
        ok = False

    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        add(n, "error", f"'topics' must be a list of strings, got {topics!r}")
        ok = False
    else:
        bad = [t for t in topics if t not in TOPICS]
        if bad:
            add(n, "error", f"unknown topic(s) {bad}; allowed: {', '.join(TOPICS)}")
            ok = False
        if len(set(topics)) != len(topics):
            add(n, "error", f"repeated topic in {topics}")
            ok = False

    if not isinstance(stances, dict):
        add(n, "error", f"'stances' must be an object {{actor: stance}}, got {type(stances).__name__}")
        ok = False
    else:
        for actor, stance in stances.items():
            if actor not in ACTORS:
                add(n, "error", f"unknown actor {actor!r}; allowed: {', '.join(ACTORS)}")
                ok = False
            if stance not in STANCES:
                add(n, "error", f"unknown stance {stance!r} for {actor!r}; allowed: {', '.join(STANCES)}")
                ok = False

    source = obj.get("source")
    if source is not None and not isinstance(source, str):
        add(n, "error", f"'source' must be a string, got {type(source).__name__}")
        ok = False

    if not ok:
        return None
    if detector is not None:
        found = set(detector.actors(text))
        for actor in stances:
            if actor not in found:
                add(n, "warning", f"actor {actor!r} is labelled but the detector finds no mention of it")
    ordered_topics = tuple(t for t in TOPICS if t in topics)
    ordered_stances = {a: stances[a] for a in ACTORS if a in stances}
    return Record(rid, text, ordered_topics, ordered_stances, source, name, n, reference)
