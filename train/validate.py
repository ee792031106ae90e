"""``persian-stance validate``: check labelled files against the guideline."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .realnews import POOL_ENV
from .records import check_files


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", type=Path, help="JSON Lines files labelled per ANNOTATION.md")
    p.add_argument("--no-mention-check", action="store_true",
                   help="skip the warning for labelled actors the detector cannot find")
    p.add_argument("--errors-only", action="store_true", help="print errors, not warnings")
    p.add_argument("--pool", type=Path, help="real-news pool that reference records point into "
                                             "(default: $PERSIAN_STANCE_POOL or ../shared/realnews/pool.jsonl)")


def run(args: argparse.Namespace) -> int:
    if args.pool:
        os.environ[POOL_ENV] = str(args.pool)
    records, issues = check_files(args.files, check_mentions=not args.no_mention_check)
    errors = [i for i in issues if i.level == "error"]
    warnings = [i for i in issues if i.level == "warning"]
    for issue in issues:
        if issue.level == "error" or not args.errors_only:
            print(issue, file=sys.stderr if issue.level == "error" else sys.stdout)
    files = len(args.files)
    print(f"{files} file(s), {len(records)} valid record(s), {len(errors)} error(s), {len(warnings)} warning(s)")
    return 1 if errors else 0
