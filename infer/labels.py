"""The label inventory of ANNOTATION.md v1.1, in one fixed order.

Every label map in the project (model heads, metrics, reports, checkpoints) is
built from these tuples, never from a ``set()`` of what a file happens to hold,
so index 2 means the same thing in every checkpoint and every report.
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

# A signed reading of the stance classes, used for the mean stance score of an
# article summary: +1 favor, -1 against, 0 neutral.
STANCE_SIGN: dict[str, int] = {"favor": 1, "against": -1, "neutral": 0}
