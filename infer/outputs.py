"""The output record: its schema, and writing and reading it as JSON Lines
(default) or CSV.

One schema for every output: ``result_dict`` is what ``SentenceResult.to_dict()``
returns and what ``persian-stance label`` writes (plus the item's ``id`` and the
``file`` it came from). Each finished article is written in one piece and
flushed, so a run that stops leaves a valid file; ``--resume`` reads it back
(:class:`ExistingOutput`) to skip the ids already labelled and to try the
failed ones again.
"""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import IO, Iterator

from .jsonl import iter_objects
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


def sentence_record(item, result) -> dict:
    """The line written for one sentence of input ``item`` (an ``Item``): the
    input fields the user kept (dates, outlets, URLs) right after the id, and
    the file the item came from at the end."""
    return {"id": item.id, **item.fields, **result_dict(result), "file": item.file}


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
               "", r["file"], ""])


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
            "file": row["file"],
        })
    return out


def _int_or_none(v: str) -> int | None:
    return int(v) if v != "" else None


def id_key(value, fmt: str) -> str:
    """How an output of format ``fmt`` tells ids apart: JSON Lines by the JSON
    form (``1`` and ``"1"`` are two ids), CSV by the text (a cell has no type)."""
    return json.dumps(value, ensure_ascii=False) if fmt == "jsonl" else str(value)


class ExistingOutput:
    """An output file that ``--resume`` appends to: which items it holds, and
    whether they were labelled or failed.

    A run stopped while writing can leave a last line cut off (the file does not
    end with a line break); that line and the rest of its article are left out
    (``cut``) and labelled again. Anything else that does not read as a record
    raises ``ValueError`` naming the line: rewriting the file without it would
    lose what follows.
    """

    def __init__(self, path: str | Path, fmt: str):
        self.path, self.fmt = Path(path), fmt
        self.header: list[str] | None = None
        self.entries: list[tuple[str, bool, str]] = []
        """(id key, is an error record, the record's text as written), in file order."""
        self.cut = False
        if self.path.exists() and self.path.stat().st_size:
            raw = self.path.read_text(encoding="utf-8")
            complete = self._read_jsonl(raw) if fmt == "jsonl" else self._read_csv(raw)
            if not complete:
                self.cut = True
                if self.entries:  # the article the cut line belongs to, or the one before: labelled again
                    last = self.entries[-1][0]
                    while self.entries and self.entries[-1][0] == last:
                        self.entries.pop()

    def _read_jsonl(self, raw: str) -> bool:
        *lines, tail = raw.split("\n")
        for n, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
                key = id_key(record["id"], "jsonl")
            except (json.JSONDecodeError, KeyError, TypeError):
                raise ValueError(f"{self.path}:{n}: not a record of 'persian-stance label'; "
                                 "remove or fix the line before --resume") from None
            self.entries.append((key, "error" in record, line + "\n"))
        return tail == ""

    def _read_csv(self, raw: str) -> bool:
        cut = not raw.endswith("\n")
        reader = csv.reader(io.StringIO(raw, newline=""))
        rows: list[list[str]] = []
        try:
            rows.extend(reader)
        except csv.Error:
            if not cut:
                raise ValueError(f"{self.path}:{reader.line_num}: not a CSV row of 'persian-stance label'; "
                                 "remove or fix it before --resume") from None
        self.header, rows = (rows[0], rows[1:]) if rows else (None, [])
        if self.header is None or "error" not in self.header:
            raise ValueError(f"{self.path}: no header of 'persian-stance label' on line 1")
        if cut and rows and len(rows[-1]) != len(self.header):
            rows.pop()  # the row the interrupted write cut short
        error_at = self.header.index("error")
        for n, row in enumerate(rows, 2):
            if len(row) != len(self.header):
                raise ValueError(f"{self.path}: row {n} has {len(row)} fields where the header has "
                                 f"{len(self.header)}; remove or fix it before --resume")
            # Written by _csv_line, so writing the row again gives its text back.
            self.entries.append((row[0], bool(row[error_at]), _csv_line(row)))
        return not cut

    def matches(self, kept_fields: tuple[str, ...]) -> bool:
        """Whether new rows can be appended: a CSV's columns must be the ones this
        version writes with these ``--keep-fields`` (JSON Lines has no header)."""
        return self.header is None or self.header == _csv_columns(tuple(kept_fields))

    @property
    def done(self) -> set[str]:
        """Ids with sentence records."""
        return {key for key, is_error, _ in self.entries if not is_error}

    @property
    def failed(self) -> set[str]:
        """Ids with error records only."""
        return {key for key, is_error, _ in self.entries if is_error} - self.done

    def save(self, drop_errors_of: set[str] = frozenset()) -> int:
        """Rewrite the file without the cut article and without the error records
        of ``drop_errors_of`` (items about to be tried again); in one rename, so
        a crash leaves the old file or the new one. Returns the records dropped."""
        keep = [text for key, is_error, text in self.entries if not (is_error and key in drop_errors_of)]
        dropped = len(self.entries) - len(keep)
        if not dropped and not self.cut:
            return 0
        header = _csv_line(self.header) if self.header is not None else ""
        tmp = self.path.with_name(f".{self.path.name}.resume-tmp")
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(header + "".join(keep))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        self.entries = [e for e in self.entries if not (e[1] and e[0] in drop_errors_of)]
        self.cut = False
        return dropped


def read_records(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Records of a JSON Lines output written by :class:`Writer`, with their line
    numbers: sentence records and error records alike. A line that is not a
    JSON object raises ``ValueError`` naming the file and line."""
    return iter_objects(path)
