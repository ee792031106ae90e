"""From the heads' logits to the probabilities users read as probabilities.

A checkpoint may carry a calibration fitted on held-out data
(``persian-stance calibrate`` or the end of training):

- a temperature for the topic logits and one for the stance logits
  (temperature scaling: the ranking and the argmax are unchanged, only how
  sure the scores say the model is);
- a per-class bias on the stance logits (a prior correction: the share of
  neutral mentions in real news differs from the class-weighted training
  objective), which can change the chosen stance.

Without one, probabilities are the plain sigmoid and softmax.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .labels import STANCES


@dataclass(frozen=True)
class Calibration:
    topic_temperature: float = 1.0
    stance_temperature: float = 1.0
    stance_bias: tuple[float, ...] = field(default=(0.0,) * len(STANCES))
    """Added to the (temperature-scaled) stance logits, in ``STANCES`` order."""
    fitted_on: str | None = None

    def __post_init__(self):
        for name in ("topic_temperature", "stance_temperature"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"calibration {name} must be a positive number, got {value!r}")
        if len(self.stance_bias) != len(STANCES) or not all(np.isfinite(self.stance_bias)):
            raise ValueError(f"calibration stance_bias must be {len(STANCES)} finite numbers "
                             f"({', '.join(STANCES)}), got {self.stance_bias!r}")

    @property
    def is_identity(self) -> bool:
        return self == Calibration(fitted_on=self.fitted_on)

    def topic_probs(self, logits: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64) / self.topic_temperature))

    def stance_probs(self, logits: np.ndarray) -> np.ndarray:
        z = np.asarray(logits, dtype=np.float64) / self.stance_temperature + np.asarray(self.stance_bias)
        z = z - z.max(axis=-1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=-1, keepdims=True)

    def to_dict(self) -> dict[str, Any]:
        return {"topic_temperature": self.topic_temperature, "stance_temperature": self.stance_temperature,
                "stance_bias": dict(zip(STANCES, self.stance_bias)), "fitted_on": self.fitted_on}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "Calibration":
        if not d:
            return cls()
        bias = d.get("stance_bias", {})
        return cls(float(d.get("topic_temperature", 1.0)), float(d.get("stance_temperature", 1.0)),
                   tuple(float(bias.get(s, 0.0)) for s in STANCES), d.get("fitted_on"))
