"""The label inventory of ANNOTATION.md v1.1, in one fixed order.

Every label map in the project (model heads, metrics, reports, checkpoints) is
built from these tuples, never from a ``set()`` of what a file happens to hold,
so index 2 means the same thing in every checkpoint and every report. Adding an
actor or a topic means editing this file and, for an actor, its section of the
gazetteer (``data/actors.toml``). This file imports nothing, so that
``data/authored/check_batch.py`` can read it with the standard library alone.
"""
from __future__ import annotations

GUIDELINE_VERSION = "1.1"

TOPICS: tuple[str, ...] = ("syria", "karabakh", "sanctions", "covid")

ACTORS: tuple[str, ...] = (
    "iran",
    "usa",
    "russia",
    "turkey",
    "israel",
    "syria",
    "terrorist_groups",
    "azerbaijan",
    "armenia",
    "europe",
    "saudi_arabia",
)

STANCES: tuple[str, ...] = ("favor", "against", "neutral")

