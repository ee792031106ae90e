"""Rewrite the README's example output record from a real run of the shipped model.

    python tools/readme_example.py          # from the repository root

It labels ``EXAMPLE_FILE`` with ``persian-stance label`` and puts the record of
sentence ``EXAMPLE_SENTENCE`` between the README's example markers, so the
example is what the model outputs, not what someone expects it to.
``tests/test_docs.py`` labels the file again and checks the README still holds.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_FILE = "seeds/000_ceb40c46ca905291.txt"
EXAMPLE_SENTENCE = 4
BEGIN, END = "<!-- example record: tools/readme_example.py -->", "<!-- end of example record -->"


def label_example() -> dict:
    """The record that ``persian-stance label`` writes, run from the repository
    root, for the example sentence."""
    from persian_stance.infer.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "labels.jsonl"
        cwd = os.getcwd()
        os.chdir(ROOT)  # the id is the path as given, relative to the root
        try:
            rc = main([EXAMPLE_FILE, "--out", str(out), "--no-progress"])
        finally:
            os.chdir(cwd)
        if rc != 0:
            raise SystemExit(f"labelling {EXAMPLE_FILE} failed (exit status {rc})")
        records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return next(r for r in records if r["sentence_index"] == EXAMPLE_SENTENCE)


def render(record: dict) -> str:
    """One key a line (each actor on its own line), as valid JSON."""
    def dump(v) -> str:
        return json.dumps(v, ensure_ascii=False)

    lines = []
    for key, value in record.items():
        if key == "actors" and value:
            inner = (",\n" + " " * 12).join(dump(a) for a in value)
            lines.append(f'"actors": [{inner}]')
        else:
            lines.append(f"{dump(key)}: {dump(value)}")
    return "{" + ",\n ".join(lines) + "}"


def readme_block(readme: str) -> str:
    """The JSON between the README's example markers."""
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    block = readme[start:end].strip()
    return block.removeprefix("```json").removesuffix("```").strip()


def main() -> int:
    readme_file = ROOT / "README.md"
    readme = readme_file.read_text(encoding="utf-8")
    old = readme_block(readme)
    new = render(label_example()).replace("\n", "\n  ")  # inside a list item of the README
    readme_file.write_text(readme.replace(old, new), encoding="utf-8")
    print("README example record " + ("unchanged" if new == old else "rewritten"), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
