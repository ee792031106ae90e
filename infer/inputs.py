"""Reading what users give the batch labeller: .txt files (one article each),
folders of them, .jsonl and .csv files, and standard input.

Every input yields ``Item``s: either text to label or the reason it cannot be
labelled (with file and line), so one bad record never stops a batch.

Ids are unique and stable, because ``--resume`` and every reader of the output
tell items apart by them: a file's id is its path as reached through the input
argument (``news/2020/a.txt`` for ``news/``, never the bare ``a.txt`` that two
folders can share); a record without an id field is ``file:line``; a JSON id
keeps its type (``1`` and ``"1"`` are two ids) and a null one is an error.
"""
from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .jsonl import json_error
from .language import MIN_PERSIAN_SHARE, is_persian, not_persian_message


@dataclass
class Item:
    id: str | int
    file: str
    line: int | None
    text: str | None = None
    error: str | None = None
    fields: dict = field(default_factory=dict)
    """Input fields the user asked to keep (``--keep-fields``), copied into
    every output record of this item; a field the record lacks is None."""


@dataclass
class InputOptions:
    id_field: str = "id"
    text_field: str = "text"
    encoding: str = "utf-8"
    input_format: str = "auto"
    """auto (by extension; standard input is plain text), txt, jsonl or csv."""
    max_chars: int = 200_000
    min_persian_share: float = MIN_PERSIAN_SHARE
    keep_fields: tuple[str, ...] = ()
    stdin: bytes | None = None
    """Standard input, when the caller has already read it (to read the items twice)."""


def iter_items(inputs: list[str], opts: InputOptions) -> Iterator[Item]:
    for spec in inputs:
        if spec == "-":
            data = opts.stdin if opts.stdin is not None else sys.stdin.buffer.read()
            yield from _from_stream(data, "<stdin>", opts, default_id="stdin")
            continue
        path = Path(spec)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*.txt") if p.is_file())
            if not files:
                yield Item(id=str(path), file=str(path), line=None, error="folder holds no .txt files")
            for p in files:
                yield from _from_file(p, opts, default_id=str(p))
        elif path.is_file():
            yield from _from_file(path, opts, default_id=str(path))
        else:
            yield Item(id=str(path), file=str(path), line=None, error="no such file or folder")


def _from_file(path: Path, opts: InputOptions, default_id: str) -> Iterator[Item]:
    try:
        data = path.read_bytes()
    except OSError as e:
        yield Item(id=default_id, file=str(path), line=None, error=f"cannot read: {e.strerror or e}")
        return
    yield from _from_stream(data, str(path), opts, default_id, suffix=path.suffix.lower())


def _format(opts: InputOptions, suffix: str) -> str:
    if opts.input_format != "auto":
        return opts.input_format
    return {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}.get(suffix, "txt")


def _from_stream(data: bytes, name: str, opts: InputOptions, default_id: str, suffix: str = "") -> Iterator[Item]:
    fmt = _format(opts, suffix)
    if not data.strip():
        yield Item(id=default_id, file=name, line=None, error="empty input")
        return
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        yield Item(id=default_id, file=name, line=None, error="binary file (contains NUL bytes), not text")
        return
    if fmt == "txt":
        text, err = _decode(data, opts.encoding)
        if err:
            yield Item(id=default_id, file=name, line=None, error=err)
        else:
            yield _checked(Item(id=default_id, file=name, line=None, text=text), opts)
    elif fmt == "jsonl":
        yield from _jsonl(data, name, opts)
    elif fmt == "csv":
        yield from _csv(data, name, opts)
    else:
        yield Item(id=default_id, file=name, line=None, error=f"unknown input format {fmt!r}")


def _decode(data: bytes, encoding: str) -> tuple[str, str | None]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        hint = " (Persian text saved by old Windows programs is often cp1256: try --encoding cp1256)" \
            if encoding.replace("-", "").lower() == "utf8" else ""
        return "", f"not valid {encoding} at byte {e.start}{hint}"
    except LookupError:
        return "", f"unknown encoding {encoding!r}"
    return text.lstrip("\ufeff"), None


def _checked(item: Item, opts: InputOptions) -> Item:
    text = item.text or ""
    if not text.strip():
        item.error, item.text = "empty text", None
    elif len(text) > opts.max_chars:
        item.error, item.text = f"text too long ({len(text)} characters; the limit is {opts.max_chars}, see --max-chars)", None
    elif not is_persian(text, opts.min_persian_share):
        item.error, item.text = not_persian_message(opts.min_persian_share), None
    return item


def _jsonl(data: bytes, name: str, opts: InputOptions) -> Iterator[Item]:
    for n, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        line_id = f"{name}:{n}"
        line, err = _decode(raw, opts.encoding)
        if err:
            yield Item(id=line_id, file=name, line=n, error=err)
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield Item(id=line_id, file=name, line=n, error=f"malformed JSON: {json_error(e)}")
            continue
        if not isinstance(obj, dict):
            yield Item(id=line_id, file=name, line=n, error=f"expected a JSON object, got {type(obj).__name__}")
            continue
        yield item_from_record(obj, name, n, line_id, opts)


def item_from_record(obj: dict, name: str, line: int | None, default_id: str | None, opts: InputOptions) -> Item:
    """The item of one record (a JSON object, a Parquet row): its id, text and
    kept fields checked as for every input. ``default_id`` stands in for a
    missing id field (``file:line``); with None a missing id is an error (a
    Parquet row has no line number to make one from)."""
    kept = {k: obj.get(k) for k in opts.keep_fields}
    fallback = default_id if default_id is not None else f"{name}:?"
    if opts.id_field not in obj and default_id is None:
        return Item(id=fallback, file=name, line=line, error=f"field {opts.id_field!r} is missing", fields=kept)
    rid = obj.get(opts.id_field, default_id)
    problem = _id_problem(rid)
    if problem:
        return Item(id=fallback, file=name, line=line, error=f"field {opts.id_field!r} {problem}", fields=kept)
    text = obj.get(opts.text_field)
    if not isinstance(text, str):
        why = "missing" if text is None else f"not a string ({type(text).__name__})"
        return Item(id=rid, file=name, line=line, error=f"field {opts.text_field!r} is {why}", fields=kept)
    return _checked(Item(id=rid, file=name, line=line, text=text, fields=kept), opts)


def _id_problem(value) -> str | None:
    if value is None:
        return "is null (leave it out to use file:line as the id)"
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return f"is a {type(value).__name__}, not a string or an integer"
    if value == "":
        return "is empty"
    return None


def _csv(data: bytes, name: str, opts: InputOptions) -> Iterator[Item]:
    text, err = _decode(data, opts.encoding)
    if err:
        yield Item(id=name, file=name, line=None, error=err)
        return
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as e:
        yield Item(id=name, file=name, line=1, error=f"no CSV header ({e})")
        return
    if opts.text_field not in header:
        yield Item(id=name, file=name, line=1,
                   error=f"CSV header has no {opts.text_field!r} column (columns: {', '.join(header)})")
        return
    ti = header.index(opts.text_field)
    ii = header.index(opts.id_field) if opts.id_field in header else None
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            yield Item(id=f"{name}:{reader.line_num}", file=name, line=reader.line_num,
                       error=f"malformed CSV row: {e}")
            continue
        n = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        row_id = row[ii] if ii is not None and ii < len(row) and row[ii] else f"{name}:{n}"
        if len(row) != len(header):
            yield Item(id=row_id, file=name, line=n,
                       error=f"malformed CSV row: {len(row)} fields where the header has {len(header)}")
            continue
        kept = {k: (row[header.index(k)] if k in header else None) for k in opts.keep_fields}
        yield _checked(Item(id=row_id, file=name, line=n, text=row[ti], fields=kept), opts)
