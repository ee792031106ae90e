"""Errors a user can fix — a missing or damaged checkpoint, an unknown encoder,
a bad configuration value — and how the commands report them.

A command prints such an error as its message alone (the message already
names the file and the problem); a traceback would bury it, so it is shown
only with ``--debug``.
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable


class UserError(Exception):
    """Base of the errors whose message is all a user needs to see."""


class SettingError(UserError, ValueError):
    """A setting (configuration key, checkpoint field, argument) out of its
    allowed range; the message names the key and the range."""


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return f"persian-stance {installed('persian-stance')}"
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "persian-stance (not installed)"


def add_common_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")


def run_command(run: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    """``run(args)``'s exit status; a :class:`UserError` becomes one line on
    standard error and status 2 (unless ``--debug``)."""
    try:
        return int(run(args) or 0)
    except UserError as e:
        if getattr(args, "debug", False):
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
