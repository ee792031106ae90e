"""Validated records → ``datasets.Dataset`` of model features.

Each text goes through the same :class:`~persian_stance.infer.prepare.Preparer`
as at inference; the actor detector supplies the mention spans the stance head
pools. A labelled actor the detector cannot find keeps its label and is
represented by the sentence alone (the model does the same at inference when
asked about an actor without a span).
"""
from __future__ import annotations

from dataclasses import dataclass

from persian_stance.infer.features import ACTOR_INDEX
from persian_stance.infer.labels import ACTORS, STANCES, TOPICS
from persian_stance.infer.model import IGNORE
from persian_stance.infer.prepare import Preparer

from .records import Record

STANCE_INDEX = {s: i for i, s in enumerate(STANCES)}


@dataclass
class FeatureStats:
    sentences: int = 0
    gold_mentions: int = 0
    gold_without_span: int = 0
    truncated: int = 0


def record_features(records: list[Record], preparer: Preparer) -> tuple[list[dict], FeatureStats]:
    stats = FeatureStats()
    rows = []
    for r in records:
        enc = preparer.prepare(r.text).features
        stance_labels = [IGNORE] * len(ACTORS)
        for actor, stance in r.stances.items():
            stance_labels[ACTOR_INDEX[actor]] = STANCE_INDEX[stance]
            stats.gold_mentions += 1
            stats.gold_without_span += not enc.mention_tokens[ACTOR_INDEX[actor]]
        stats.sentences += 1
        stats.truncated += enc.truncated
        rows.append({
            "id": r.id,
            "input_ids": enc.input_ids,
            "mention_tokens": enc.mention_tokens,
            **({"targets": [t.to_row() for t in enc.targets]} if preparer.marked else {}),
            "topic_labels": [1.0 if t in r.topics else 0.0 for t in TOPICS],
            "stance_labels": stance_labels,
            # what a step costs: the sentence's tokens plus its marked copies'
            "length": len(enc.input_ids) + sum(len(t.input_ids) for t in enc.targets),
        })
    return rows, stats


def to_dataset(rows: list[dict]):
    import datasets

    return datasets.Dataset.from_list(rows)
