"""``persian-stance label``: batch labelling (filled in by the predictor work)."""
from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="*")


def run(args: argparse.Namespace) -> int:
    raise SystemExit("labelling needs a trained model; not available yet")
