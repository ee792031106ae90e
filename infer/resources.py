"""Locating the data files the runtime needs (gazetteer, boilerplate patterns).

They live in the repository's ``data/`` folder, installed as the package
``persian_stance.resources``; ``importlib.resources`` finds them in a source
checkout, an editable install and a wheel alike.
"""
from __future__ import annotations

import tomllib
from importlib.resources import files
from typing import Any


def read_toml(name: str) -> dict[str, Any]:
    resource = files("persian_stance.resources") / name
    try:
        with resource.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"resource file {name!r} is missing from the installed package") from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"resource file {name!r} is not valid TOML: {e}") from None
