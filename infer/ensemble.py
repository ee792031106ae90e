"""Several checkpoints as one predictor: their calibrated probabilities averaged.

Averaging the seeds of one recipe removes part of the seed-to-seed noise of a
single model, at the cost of one forward pass per member. Members must read
text the same way (same encoder, normaliser and ZWNJ policy, hence the same
tokens), which :class:`EnsemblePredictor` checks; topic thresholds are the
members' mean.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .errors import SettingError
from .labels import TOPICS
from .predictor import Predictor


class EnsemblePredictor(Predictor):
    """A :class:`Predictor` whose scores are the mean of its members' scores."""

    def __init__(self, members: Sequence[Predictor]):
        if not members:
            raise SettingError("an ensemble needs at least one checkpoint")
        first = members[0]
        for m in members[1:]:
            same = (m.config.encoder == first.config.encoder and m.config.normalizer == first.config.normalizer
                    and m.config.zwnj == first.config.zwnj and m.max_length == first.max_length
                    and m.config.stance_input == first.config.stance_input)
            if not same:
                raise SettingError("ensemble members must share encoder, normaliser, ZWNJ policy, max length and "
                                   "stance input: they would read different tokens")
        thresholds = {t: float(np.mean([m.thresholds[t] for m in members])) for t in TOPICS}
        super().__init__(first.model, first.tokenizer, first.config, device=first.device,
                         batch_size=first.batch_size, max_length=first.max_length, thresholds=thresholds)
        self.members = list(members)

    @classmethod
    def load_all(cls, paths: Sequence[str | Path], **kwargs) -> "EnsemblePredictor":
        """Load each checkpoint with :meth:`Predictor.load` (same keyword arguments)."""
        return cls([Predictor.load(p, **kwargs) for p in paths])

    def _forward(self, prepared, on_batch: Callable[[int], None] | None = None):
        # Each member prepares the same tokens (checked above), so one preparation serves all.
        outs = [m._forward(prepared) for m in self.members]
        if on_batch is not None:
            on_batch(len(prepared))
        return [(np.mean([o[i][0] for o in outs], axis=0), np.mean([o[i][1] for o in outs], axis=0))
                for i in range(len(prepared))]


def load_predictor(paths: Sequence[str | Path], **kwargs) -> Predictor:
    """One checkpoint as a :class:`Predictor`, several as their averaged
    :class:`EnsemblePredictor` (``kwargs`` go to :meth:`Predictor.load`)."""
    if len(paths) == 1:
        return Predictor.load(paths[0], **kwargs)
    return EnsemblePredictor.load_all(paths, **kwargs)
