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

from .inputs import json_error
from .labels import TOPICS

CSV_COLUMNS = (["id", "sentence_index", "text", "start", "end"] + [f"topic_{t}" for t in TOPICS]
               + ["topic_labels", "actors", "flags", "error", "file", "line"])

# A sentence record's ``flags`` say why its labels may not be a reading of its text:
NOT_PERSIAN = "not_persian"
"""Less than 30% of the letters are Persian/Arabic script (``infer/language.py``):
the model only ever read Persian. The label command refuses such an item
outright (an error record); a sentence of an accepted article, or a text given
to the Python API, is labelled and flagged."""
TRUNCATED = "truncated"
"""The sentence is longer than the ``max_length`` tokens the model reads: its
topics come from the part before the cut, and an actor mentioned only after it
has ``truncated: true`` and no stance."""


def actor_dict(a) -> dict:
    """One actor of a sentence (an ``ActorStance``). ``stance`` and ``scores``
    are null when no mention of the actor was read: ``mention_found`` false (the
    caller named an actor the sentence does not mention) or ``truncated`` true
    (every mention lies past the ``max_length`` tokens the model reads)."""
    return {"actor": a.actor, "stance": a.stance, "scores": None if a.scores is None else dict(a.scores),
            "spans": [list(sp) for sp in a.spans], "surfaces": list(a.surfaces), "mention_found": a.mention_found,
            "truncated": a.truncated}


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
        "flags": list(r.flags),
    }


RECORD_FIELDS = ("id", "sentence_index", "text", "start", "end", "topics", "topic_labels", "actors", "flags", "error",
                 "file", "line")
"""Every key a record may have; fields kept from the input (``--keep-fields``)
must not take these names."""


def sentence_record(item_id: str, result, kept: dict | None = None) -> dict:
    """The line written for one sentence of input item ``item_id``, with the
    input fields the user kept (dates, outlets, URLs) right after the id."""
    return {"id": item_id, **(kept or {}), **result_dict(result)}


def error_record(item) -> dict:
    return {"id": item.id, **item.fields, "file": item.file, "line": item.line, "error": item.error}


class Writer:
    def __init__(self, path: str, fmt: str, append: bool, kept_fields: tuple[str, ...] = ()):
        self.fmt = fmt
        self.kept_fields = tuple(kept_fields)
        self.to_stdout = path == "-"
        if self.to_stdout:
            import sys

            self.f: IO[str] = sys.stdout
        else:
            new = not append or not Path(path).exists() or Path(path).stat().st_size == 0
            self.f = open(path, "a" if append else "w", encoding="utf-8", newline="")
            if fmt == "csv" and new:
                self.f.write(_csv_line(_csv_columns(self.kept_fields)))
                self.f.flush()

    def write_block(self, records: list[dict]) -> None:
        if self.fmt == "jsonl":
            block = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        else:
            block = "".join(_csv_line(_csv_row(r, self.kept_fields)) for r in records)
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


def _csv_columns(kept: tuple[str, ...]) -> list[str]:
    return CSV_COLUMNS[:1] + list(kept) + CSV_COLUMNS[1:]


def _csv_row(r: dict, kept: tuple[str, ...] = ()) -> list:
    extra = ["" if r.get(k) is None else r[k] for k in kept]
    if "error" in r:
        return [r["id"], *extra, "", "", "", ""] + [""] * len(TOPICS) + ["", "", "", r["error"], r["file"],
                                                                      r.get("line") or ""]
    return ([r["id"], *extra, r["sentence_index"], r["text"], r["start"], r["end"]]
            + [r["topics"][t] for t in TOPICS]
            + [";".join(r["topic_labels"]), json.dumps(r["actors"], ensure_ascii=False), ";".join(r["flags"]),
               "", "", ""])


def read_output(path: str | Path, fmt: str) -> list[dict]:
    """The records of a finished output file, CSV rows turned back into the
    JSON Lines schema (sentence records and error records)."""
    if fmt == "jsonl":
        return [r for _, r in read_records(path)]
    text = Path(path).read_text(encoding="utf-8")
    out = []
    for row in csv.DictReader(io.StringIO(text)):
        kept = {k: v for k, v in row.items() if k not in CSV_COLUMNS}
        if row["error"]:
            out.append({"id": row["id"], **kept, "file": row["file"],
                        "line": int(row["line"]) if row["line"] else None, "error": row["error"]})
            continue
        out.append({
            "id": row["id"],
            **kept,
            "sentence_index": _int_or_none(row["sentence_index"]),
            "text": row["text"],
            "start": _int_or_none(row["start"]),
            "end": _int_or_none(row["end"]),
            "topics": {t: float(row[f"topic_{t}"]) for t in TOPICS},
            "topic_labels": row["topic_labels"].split(";") if row["topic_labels"] else [],
            "actors": json.loads(row["actors"]),
            "flags": row["flags"].split(";") if row["flags"] else [],
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
        # the header, with or without kept input fields after "id"
        is_header = bool(rows) and rows[0][:1] == ["id"] and set(CSV_COLUMNS) <= set(rows[0])
        good_rows = rows[1:] if is_header else rows
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
                raise ValueError(f"{path}:{n}: not valid JSON ({json_error(e)})") from None
            if not isinstance(obj, dict):
                raise ValueError(f"{path}:{n}: expected a JSON object, got {type(obj).__name__}")
            yield n, obj
