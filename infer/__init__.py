"""persian-stance runtime: text → sentences → actors → encoder → heads → labels.

    from persian_stance.infer import Predictor
    Predictor.load().predict_article(text)

This package never imports the training stack (datasets, scikit-learn,
persian_stance.train). ``Predictor`` is imported lazily so that the text tools
(``normalize``, ``segment``, ``actors``) load without torch.
"""
from __future__ import annotations

from .labels import ACTORS, STANCES, TOPICS

__all__ = ["Predictor", "TOPICS", "ACTORS", "STANCES"]


def __getattr__(name: str):
    if name == "Predictor":
        from .predictor import Predictor

        return Predictor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
