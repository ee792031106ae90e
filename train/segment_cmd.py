"""``persian-stance segment``: show how articles are split into sentences."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", type=Path, help=".txt articles")
    p.add_argument("--jsonl", action="store_true", help="print JSON Lines with ids and offsets")
    p.add_argument("--keep-duplicates", action="store_true", help="keep repeated sentences")


def run(args: argparse.Namespace) -> int:
    from persian_stance.infer.segment import segment_article

    for path in args.files:
        text = path.read_text(encoding="utf-8")
        for s in segment_article(text, dedupe=not args.keep_duplicates):
            if args.jsonl:
                rec = {"file": path.name, "sentence_index": s.index, "start": s.start, "end": s.end, "text": s.text}
                print(json.dumps(rec, ensure_ascii=False))
            else:
                print(f"{path.name}\t{s.index}\t{s.text}")
    sys.stdout.flush()
    return 0
