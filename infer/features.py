"""Sentences and actor mentions → the tensors the model reads.

Each sentence becomes token ids plus, for every actor slot of the guideline
(11, in ``ACTORS`` order), the indices of the tokens that cover that actor's
mentions. The stance head pools exactly those tokens, so its answer depends on
which mention it is asked about.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from .encoders import ZwnjPolicy, apply_zwnj_policy
from .labels import ACTORS

ACTOR_INDEX = {a: i for i, a in enumerate(ACTORS)}


@dataclass(frozen=True)
class EncodedSentence:
    input_ids: list[int]
    mention_tokens: list[list[int]]
    """For each actor slot, token positions of its mentions (empty if none)."""
    truncated: bool


def encode_sentence(
    tokenizer,
    text: str,
    spans: Sequence[tuple[str, int, int]],
    *,
    prefix: str,
    zwnj: ZwnjPolicy,
    max_length: int,
) -> EncodedSentence:
    """``text`` is the normalised sentence; ``spans`` are (actor, start, end) in it."""
    fed, index = apply_zwnj_policy(text, zwnj)
    # where each character of `text` starts in `fed`
    first = {}
    for j, i in enumerate(index):
        first.setdefault(i, j)
    enc = tokenizer(
        prefix + fed,
        truncation=True,
        max_length=max_length,
        return_offsets_mapping=True,
    )
    ids = enc["input_ids"]
    offsets = enc["offset_mapping"]
    full_len = len(tokenizer(prefix + fed, add_special_tokens=True, verbose=False)["input_ids"]) if len(ids) >= max_length else len(ids)
    mention_tokens: list[list[int]] = [[] for _ in ACTORS]
    for actor, s, e in spans:
        fs = len(prefix) + first.get(s, len(fed))
        fe = len(prefix) + (first.get(e - 1, len(fed) - 1) + 1 if e > s else fs)
        slot = mention_tokens[ACTOR_INDEX[actor]]
        for t, (a, b) in enumerate(offsets):
            if b > a and a < fe and b > fs and t not in slot:
                slot.append(t)
    for slot in mention_tokens:
        slot.sort()
    return EncodedSentence(ids, mention_tokens, truncated=full_len > len(ids))


def collate(
    batch: Sequence[dict],
    pad_id: int,
    n_topics: int | None = None,
) -> dict[str, torch.Tensor]:
    """Pad a batch of encoded sentences (dicts with ``input_ids``,
    ``mention_tokens`` and optionally ``topic_labels``/``stance_labels``)."""
    T = max(len(b["input_ids"]) for b in batch)
    B, A = len(batch), len(ACTORS)
    input_ids = torch.full((B, T), pad_id, dtype=torch.long)
    attention = torch.zeros((B, T), dtype=torch.long)
    mention_mask = torch.zeros((B, A, T), dtype=torch.float32)
    for i, b in enumerate(batch):
        n = len(b["input_ids"])
        input_ids[i, :n] = torch.tensor(b["input_ids"], dtype=torch.long)
        attention[i, :n] = 1
        for a, toks in enumerate(b["mention_tokens"]):
            if toks:
                mention_mask[i, a, toks] = 1.0
    out = {"input_ids": input_ids, "attention_mask": attention, "mention_mask": mention_mask}
    if "topic_labels" in batch[0]:
        out["topic_labels"] = torch.tensor([b["topic_labels"] for b in batch], dtype=torch.float32)
    if "stance_labels" in batch[0]:
        out["stance_labels"] = torch.tensor([b["stance_labels"] for b in batch], dtype=torch.long)
    return out
