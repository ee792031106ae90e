"""Reading JSON Lines with errors that name the file and the line."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator


def json_error(e: json.JSONDecodeError) -> str:
    """``e`` as one phrase with its column. Some of json's messages end in a
    dangling "at" ("Unterminated string starting at") that expects the
    position to follow."""
    return f"{e.msg.removesuffix(' at')} at column {e.colno}"


def iter_objects(path: str | Path) -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` for every non-blank line; a line that is not a
    JSON object raises ``ValueError`` naming the file and the line."""
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
