"""Sentences and actor mentions → the tensors the model reads.

Each sentence becomes token ids plus, for every actor slot of the guideline
(11, in ``ACTORS`` order), the indices of the tokens that cover that actor's
mentions. The stance head pools exactly those tokens, so its answer depends on
which mention it is asked about.

With target-marked input (a checkpoint's ``stance_input = "marked"``) each
mentioned actor also gets its own copy of the sentence in which that actor's
mentions, and only those, are wrapped in a marker, ``@ … @``: the entity-marker
input of relation extraction, with punctuation already in the vocabulary as
the marker, so no new token embeddings are needed (Zhou and Chen, 2021, "An
Improved Baseline for Sentence-level Relation Extraction", found punctuation
markers as good as new tokens). The encoder then reads the sentence knowing
which actor is asked about, instead of the stance head pooling one shared pass.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from .encoders import ZwnjPolicy, apply_zwnj_policy
from .labels import ACTORS

ACTOR_INDEX = {a: i for i, a in enumerate(ACTORS)}


TARGET_MARKER = "@"
"""Wraps the asked-about actor's mentions in target-marked input."""


@dataclass(frozen=True)
class EncodedTarget:
    """One actor's target-marked copy of a sentence."""
    slot: int
    """The actor's index in ``ACTORS``."""
    input_ids: list[int]
    mention_tokens: list[int]
    """Token positions of the markers and the mentions between them (empty if
    truncation cut them all away)."""

    def to_row(self) -> dict:
        """The form :func:`collate` reads (and a ``datasets`` column can hold)."""
        return {"slot": self.slot, "input_ids": self.input_ids, "mention_tokens": self.mention_tokens}


@dataclass(frozen=True)
class EncodedSentence:
    input_ids: list[int]
    mention_tokens: list[list[int]]
    """For each actor slot, token positions of its mentions (empty if none)."""
    truncated: bool
    targets: tuple[EncodedTarget, ...] = ()
    """Target-marked copies, one per mentioned actor (marked input only)."""

    def reads_mention(self, slot: int) -> bool:
        """Whether the stance head sees a mention of this actor (not only the
        sentence): false when every mention lies past the truncation."""
        for t in self.targets:
            if t.slot == slot:
                return bool(t.mention_tokens)
        return bool(self.mention_tokens[slot])


def encode_sentence(
    tokenizer,
    text: str,
    spans: Sequence[tuple[str, int, int]],
    *,
    prefix: str,
    zwnj: ZwnjPolicy,
    max_length: int,
    marked: bool = False,
) -> EncodedSentence:
    """``text`` is the normalised sentence; ``spans`` are (actor, start, end) in it.
    ``marked`` adds a target-marked copy per mentioned actor."""
    plain = _encode(tokenizer, text, spans, prefix=prefix, zwnj=zwnj, max_length=max_length)
    if not marked:
        return plain
    targets = []
    for actor in ACTORS:
        own = sorted((s, e) for a, s, e in spans if a == actor)
        if not own:
            continue
        marked_text, marked_spans = mark_target(text, own)
        enc = _encode(tokenizer, marked_text, [(actor, s, e) for s, e in marked_spans], prefix=prefix, zwnj=zwnj,
                      max_length=max_length)
        slot = ACTOR_INDEX[actor]
        targets.append(EncodedTarget(slot, enc.input_ids, enc.mention_tokens[slot]))
    return EncodedSentence(plain.input_ids, plain.mention_tokens, plain.truncated, tuple(targets))


def mark_target(text: str, spans: Sequence[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """``text`` with each span wrapped as ``@ span @``, and the spans (markers
    included) in the new text. Overlapping spans are merged first."""
    merged: list[list[int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    out, new_spans, last = [], [], 0
    for s, e in merged:
        out.append(text[last:s])
        start = sum(len(x) for x in out)
        piece = f"{TARGET_MARKER} {text[s:e]} {TARGET_MARKER}"
        # spaces keep the marker a token of its own, away from the word's letters
        if start and not out[-1].endswith(" "):
            out.append(" ")
            start += 1
        out.append(piece)
        new_spans.append((start, start + len(piece)))
        if e < len(text) and text[e] != " ":
            out.append(" ")
        last = e
    out.append(text[last:])
    return "".join(out), new_spans


def _encode(tokenizer, text: str, spans: Sequence[tuple[str, int, int]], *, prefix: str, zwnj: ZwnjPolicy,
            max_length: int) -> EncodedSentence:
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
    ``mention_tokens``, optionally ``targets`` (dicts with ``slot``,
    ``input_ids``, ``mention_tokens``), ``topic_labels``/``stance_labels`` and
    ``topic_soft``/``stance_soft``).
    Target-marked copies are flattened into ``target_*`` tensors, with
    ``target_slot`` = sentence index × number of actors + actor index."""
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
    targets = [(i, t) for i, b in enumerate(batch) for t in (b.get("targets") or ())]
    if targets:
        T2 = max(len(t["input_ids"]) for _, t in targets)
        P = len(targets)
        out["target_input_ids"] = torch.full((P, T2), pad_id, dtype=torch.long)
        out["target_attention_mask"] = torch.zeros((P, T2), dtype=torch.long)
        out["target_mention_mask"] = torch.zeros((P, T2), dtype=torch.float32)
        out["target_slot"] = torch.tensor([i * A + t["slot"] for i, t in targets], dtype=torch.long)
        for p, (_, t) in enumerate(targets):
            n = len(t["input_ids"])
            out["target_input_ids"][p, :n] = torch.tensor(t["input_ids"], dtype=torch.long)
            out["target_attention_mask"][p, :n] = 1
            if t["mention_tokens"]:
                out["target_mention_mask"][p, t["mention_tokens"]] = 1.0
    if "topic_labels" in batch[0]:
        out["topic_labels"] = torch.tensor([b["topic_labels"] for b in batch], dtype=torch.float32)
    if "stance_labels" in batch[0]:
        out["stance_labels"] = torch.tensor([b["stance_labels"] for b in batch], dtype=torch.long)
    for key in ("topic_soft", "stance_soft"):  # a teacher's probabilities (distillation)
        if key in batch[0]:
            out[key] = torch.tensor([b[key] for b in batch], dtype=torch.float32)
    return out
