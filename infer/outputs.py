"""The output record: its schema, and writing and reading it as JSON Lines
(default) or CSV.

One schema for every output: ``result_dict`` is what ``SentenceResult.to_dict()``
returns and what ``persian-stance label`` writes (plus the item's ``id``).
Each finished article is written in one piece and flushed, so a run that stops
leaves a valid file; ``--resume`` reads it back to skip ids already done.
"""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import IO, Iterator

from .labels import TOPICS

CSV_COLUMNS = (["id", "sentence_index", "text", "start", "end"] + [f"topic_{t}" for t in TOPICS]
               + ["topic_labels", "actors", "error", "file", "line"])


def actor_dict(a) -> dict:
    """One actor of a sentence (an ``ActorStance``)."""
    return {"actor": a.actor, "stance": a.stance, "scores": dict(a.scores), "spans": [list(sp) for sp in a.spans],
            "surfaces": list(a.surfaces), "mention_found": a.mention_found}


def result_dict(r) -> dict:
    """One labelled sentence (a ``SentenceResult``)."""
    return {
        "sentence_index": r.index,
        "text": r.text,
        "start": r.start,
        "end": r.end,
        "topics": dict(r.topics),
        "topic_labels": list(r.topic_labels),
        "actors": [actor_dict(a) for a in r.actors],
    }


def sentence_record(item_id: str, result) -> dict:
    """The line written for one sentence of input item ``item_id``."""
    return {"id": item_id, **result_dict(result)}


def error_record(item) -> dict:
    return {"id": item.id, "file": item.file, "line": item.line, "error": item.error}


class Writer:
    def __init__(self, path: str, fmt: str, append: bool):
        self.fmt = fmt
        self.to_stdout = path == "-"
        if self.to_stdout:
            import sys

            self.f: IO[str] = sys.stdout
        else:
            new = not append or not Path(path).exists() or Path(path).stat().st_size == 0
            self.f = open(path, "a" if append else "w", encoding="utf-8", newline="")
            if fmt == "csv" and new:
                self.f.write(_csv_line(CSV_COLUMNS))
                self.f.flush()

    def write_block(self, records: list[dict]) -> None:
        if self.fmt == "jsonl":
            block = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        else:
            block = "".join(_csv_line(_csv_row(r)) for r in records)
        self.f.write(block)
        self.f.flush()
        if not self.to_stdout:
            os.fsync(self.f.fileno())

    def close(self) -> None:
        if not self.to_stdout:
            self.f.close()


def _csv_line(values) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue()


def _csv_row(r: dict) -> list:
    if "error" in r:
        return [r["id"], "", "", "", ""] + [""] * len(TOPICS) + ["", "", r["error"], r["file"], r.get("line") or ""]
    return ([r["id"], r["sentence_index"], r["text"], r["start"], r["end"]]
            + [r["topics"][t] for t in TOPICS]
            + [";".join(r["topic_labels"]), json.dumps(r["actors"], ensure_ascii=False), "", "", ""])


def read_output(path: str | Path, fmt: str) -> list[dict]:
    """The records of a finished output file, CSV rows turned back into the
    JSON Lines schema (sentence records and error records)."""
    text = Path(path).read_text(encoding="utf-8")
    if fmt == "jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    out = []
    for row in csv.DictReader(io.StringIO(text)):
        if row["error"]:
            out.append({"id": row["id"], "file": row["file"], "line": int(row["line"]) if row["line"] else None,
                        "error": row["error"]})
            continue
        out.append({
            "id": row["id"],
            "sentence_index": _int_or_none(row["sentence_index"]),
            "text": row["text"],
            "start": _int_or_none(row["start"]),
            "end": _int_or_none(row["end"]),
            "topics": {t: float(row[f"topic_{t}"]) for t in TOPICS},
            "topic_labels": row["topic_labels"].split(";") if row["topic_labels"] else [],
            "actors": json.loads(row["actors"]),
        })
    return out


def _int_or_none(v: str) -> int | None:
    return int(v) if v != "" else None


def done_ids(path: str, fmt: str) -> set[str]:
    """Ids already labelled in an existing output. A last line cut off by an
    interrupted write is removed, and so is the rest of that article, which is
    then labelled again."""
    p = Path(path)
    if not p.exists() or p.stat().st_size == 0:
        return set()
    raw = p.read_text(encoding="utf-8")
    lines = raw.split("\n")
    complete = raw.endswith("\n")
    body, tail = (lines[:-1], None) if complete else (lines[:-1], lines[-1])
    ids: list[str] = []
    if fmt == "jsonl":
        good = []
        for line in body:
            try:
                ids.append(json.loads(line)["id"])
                good.append(line)
            except (json.JSONDecodeError, KeyError, TypeError):
                break
    else:
        rows = list(csv.reader(io.StringIO("\n".join(body) + ("\n" if body else ""))))
        good_rows = rows[1:] if rows and rows[0] == CSV_COLUMNS else rows
        ids = [row[0] for row in good_rows if row]
        good = body
    if tail is not None or len(good) < len(body):
        # drop the partial article: everything after the last line of the previous id
        last = ids[-1] if ids else None
        keep = len(good)
        if last is not None:
            while keep > (1 if fmt == "csv" else 0) and _line_id(good[keep - 1], fmt) == last:
                keep -= 1
            ids = [i for i in ids if i != last]
        with open(p, "w", encoding="utf-8", newline="") as f:
            f.write("".join(line + "\n" for line in good[:keep]))
    return set(ids)


def _line_id(line: str, fmt: str) -> str | None:
    try:
        if fmt == "jsonl":
            return json.loads(line)["id"]
        return next(csv.reader([line]))[0]
    except Exception:  # noqa: BLE001 - any unreadable line simply has no id
        return None


def read_records(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Records of a JSON Lines output written by :class:`Writer`, with their line
    numbers: sentence records and error records alike. A line that is not a
    JSON object raises ``ValueError`` naming the file and line."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{n}: not valid JSON ({e.msg} at column {e.colno})") from None
            if not isinstance(obj, dict):
                raise ValueError(f"{path}:{n}: expected a JSON object, got {type(obj).__name__}")
            yield n, obj
