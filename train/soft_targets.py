"""Soft targets for distillation: a teacher's probabilities on training records.

Experiment 7 of #11 averages several seeds (the teacher) and trains one model
(the student) to reproduce their probabilities as well as the gold labels. The
teacher's probabilities are computed once, by ``tools/distill_targets.py``, and
kept in a JSON Lines file that this module both writes and reads:

- line 1, a header: ``{"format": "persian-stance soft targets", "version": 1,
  "teacher": [checkpoint folders]}``;
- then one line per record: ``{"id", "hash", "topics": {topic: p},
  "stances": {actor: {stance: p}}}``. ``hash`` is the record text's
  :func:`~persian_stance.train.realnews.sentence_hash`, so a target never
  meets a record whose text changed. No text is stored: pool sentences stay
  references.

Only actors whose mention the teacher could read get a stance target (a gold
actor the detector misses, or one past the truncation point, keeps its hard
label alone).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from persian_stance.infer.errors import UserError
from persian_stance.infer.features import ACTOR_INDEX
from persian_stance.infer.labels import ACTORS, STANCES, TOPICS

from .realnews import sentence_hash
from .records import Record

FORMAT = "persian-stance soft targets"
VERSION = 1


class SoftTargetError(UserError, ValueError):
    """A soft-target file is malformed or does not match the training records."""


@dataclass
class SoftTarget:
    hash: str
    topics: list[float]
    """Probability per topic, in ``TOPICS`` order."""
    stances: dict[str, list[float]] = field(default_factory=dict)
    """Actor → probability per stance, in ``STANCES`` order."""


def teacher_targets(predictor, records: Sequence[Record], chunk: int = 256) -> list[dict]:
    """The teacher's (a Predictor or EnsemblePredictor) calibrated probabilities
    for each record: its topics and the stance toward each gold actor it reads."""
    out = []
    for k in range(0, len(records), chunk):
        part = records[k:k + chunk]
        topics, stances = predictor.predict_proba([r.text for r in part])
        for r, tp, sp in zip(part, topics, stances):
            row = {"id": r.id, "hash": sentence_hash(r.text),
                   "topics": {t: round(float(tp[i]), 5) for i, t in enumerate(TOPICS)}, "stances": {}}
            for actor in r.stances:
                probs = sp[ACTOR_INDEX[actor]]
                if not math.isnan(float(probs[0])):
                    row["stances"][actor] = {s: round(float(probs[i]), 5) for i, s in enumerate(STANCES)}
            out.append(row)
    return out


def write_targets(path: str | Path, teacher: Iterable[str], rows: Iterable[dict]) -> Path:
    """Write the header and ``rows`` (as made by :func:`teacher_targets`) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps({"format": FORMAT, "version": VERSION, "teacher": [str(t) for t in teacher]}) + "\n")
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def read_targets(path: str | Path) -> tuple[dict, dict[str, SoftTarget]]:
    """The header and the targets by record id; errors name the file and line."""
    from persian_stance.infer.jsonl import iter_objects

    path = Path(path)
    header: dict | None = None
    targets: dict[str, SoftTarget] = {}
    try:
        for n, obj in iter_objects(path):
            if header is None:
                if obj.get("format") != FORMAT or obj.get("version") != VERSION:
                    raise SoftTargetError(f"{path}:{n}: not a soft-target file of version {VERSION} "
                                          f"(header {json.dumps(obj)[:80]!r})")
                header = obj
                continue
            rid = obj.get("id")
            if not isinstance(rid, str):
                raise SoftTargetError(f"{path}:{n}: missing field 'id' (or not a string)")
            if rid in targets:
                raise SoftTargetError(f"{path}:{n}: duplicate id {rid!r}")
            targets[rid] = _target(obj, path, n)
    except FileNotFoundError:
        raise SoftTargetError(f"soft-target file not found: {path} (make it with tools/distill_targets.py)") from None
    except UnicodeDecodeError as e:
        raise SoftTargetError(f"{path}: not valid UTF-8 ({e.reason})") from None
    except SoftTargetError:
        raise
    except ValueError as e:  # iter_objects: not JSON, or not an object; names the file and line
        raise SoftTargetError(str(e)) from None
    if header is None:
        raise SoftTargetError(f"{path}: empty file, expected a header line")
    return header, targets


def _target(obj: dict, path: Path, n: int) -> SoftTarget:
    try:
        topics = [_prob(obj["topics"][t]) for t in TOPICS]
        stances = {}
        for actor, probs in obj["stances"].items():
            if actor not in ACTORS:
                raise ValueError(f"unknown actor {actor!r}")
            stances[actor] = [_prob(probs[s]) for s in STANCES]
        return SoftTarget(obj["hash"], topics, stances)
    except KeyError as e:
        raise SoftTargetError(f"{path}:{n}: missing field {e}") from None
    except (TypeError, ValueError, AttributeError) as e:
        raise SoftTargetError(f"{path}:{n}: {e}") from None


def attach(rows: list[dict], records: Sequence[Record], targets: dict[str, SoftTarget], path: str | Path) -> int:
    """Add ``topic_soft`` and ``stance_soft`` to each feature row (an all-zero
    stance row: no target for that slot). Every record needs a target whose
    hash matches its text; returns how many stance targets were attached."""
    attached = 0
    for row, r in zip(rows, records, strict=True):
        t = targets.get(r.id)
        if t is None:
            raise SoftTargetError(f"{path}: no soft target for record {r.id!r} ({r.path}:{r.line}); "
                                  "rebuild the targets for this training data with tools/distill_targets.py")
        if t.hash != sentence_hash(r.text):
            raise SoftTargetError(f"{path}: the soft target of record {r.id!r} ({r.path}:{r.line}) was made for "
                                  "another text; rebuild the targets with tools/distill_targets.py")
        stance = [[0.0] * len(STANCES) for _ in ACTORS]
        for actor, probs in t.stances.items():
            if actor in r.stances:
                stance[ACTOR_INDEX[actor]] = probs
                attached += 1
        row["topic_soft"] = list(t.topics)
        row["stance_soft"] = stance
    return attached


def _prob(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"probability must be a number in [0, 1], not {value!r}")
    return float(value)
