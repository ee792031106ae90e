"""The ``persian-stance`` command.

Each sub-command lives in its own module and is imported only when run, so
``persian-stance label`` starts without loading the training stack.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from persian_stance.infer.errors import add_common_arguments, run_command, version

# name -> (module, help)
COMMANDS: dict[str, tuple[str, str]] = {
    "label": ("persian_stance.infer.cli", "label articles or sentences with a trained model"),
    "label-ray": ("persian_stance.infer.ray_label", "label a sharded corpus (JSON Lines or Parquet) on a Ray cluster"),
    "train": ("persian_stance.train.trainer", "train a model (config file + overrides)"),
    "evaluate": ("persian_stance.train.evaluate", "score checkpoints and baselines on labelled files"),
    "baselines": ("persian_stance.train.baseline_compare", "train the baselines on several training sets and score them"),
    "report": ("persian_stance.analysis.report", "an HTML report (and CSV) of stance and topics over time from labels"),
    "calibrate": ("persian_stance.train.calibrate", "fit temperatures (and a stance prior correction) on held-out data"),
    "crossval": ("persian_stance.train.crossval", "k-fold cross-validation by document on a small labelled set"),
    "coverage": ("persian_stance.train.coverage", "count what the labelled corpus covers"),
    "agreement": ("persian_stance.train.agreement", "Cohen's kappa of a blind second labelling"),
    "validate": ("persian_stance.train.validate", "check labelled JSON Lines files against the guideline"),
    "detector-report": ("persian_stance.train.detector_report", "actor detector precision/recall on a labelled file"),
    "segment": ("persian_stance.train.segment_cmd", "print the sentences the splitter finds in articles"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="persian-stance",
        description="Topic and actor-stance analysis of Persian political news (ANNOTATION.md v1.1).",
    )
    parser.add_argument("--version", action="version", version=version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        # Command modules keep heavy imports inside run(), so this stays cheap.
        importlib.import_module(module).add_arguments(p)
        add_common_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return run_command(importlib.import_module(args._module).run, args)


if __name__ == "__main__":
    sys.exit(main())
