"""The network: one encoder pass, a topic head and a mention-conditioned stance head.

sentence tokens ──encoder──► hidden states ─┬─ mean over tokens ──────────► topic logits (multi-label)
                                            └─ mean over a mention's tokens
                                               ⊕ sentence vector ⊕ product ─► stance logits (per actor slot)

With target-marked input (see ``features.py``) each mentioned actor's slot is
read from its own encoder pass over the sentence with that actor's mentions
marked, pooled the same way (marked mention ⊕ sentence ⊕ product), through
the same stance head; topics still come from the one unmarked pass.
"""
from __future__ import annotations

import torch
from torch import nn

from .labels import STANCES, TOPICS

IGNORE = -100


class TopicStanceModel(nn.Module):
    def __init__(self, encoder: nn.Module, dropout: float = 0.1, stance_hidden: int | None = None):
        super().__init__()
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        stance_hidden = stance_hidden or hidden
        self.dropout = nn.Dropout(dropout)
        self.topic_head = nn.Linear(hidden, len(TOPICS))
        self.stance_head = nn.Sequential(
            nn.Linear(3 * hidden, stance_hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(stance_hidden, len(STANCES)),
        )
        # Training-only settings, set by the trainer and not saved with checkpoints.
        self.label_smoothing = 0.0
        # Share of the loss taken by a teacher's soft targets when the batch has them (distillation).
        self.distill_weight = 0.5
        # Loss weights for imbalanced labels; set by the trainer, not saved.
        self.register_buffer("topic_pos_weight", torch.ones(len(TOPICS)), persistent=False)
        self.register_buffer("stance_class_weight", torch.ones(len(STANCES)), persistent=False)

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The encoder's last hidden states ``[B, T, H]``: the one place the model
        calls its encoder, so another engine (an ONNX session) can stand in for it."""
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        mention_mask: torch.Tensor,
        target_input_ids: torch.Tensor | None = None,
        target_attention_mask: torch.Tensor | None = None,
        target_mention_mask: torch.Tensor | None = None,
        target_slot: torch.Tensor | None = None,
        topic_labels: torch.Tensor | None = None,
        stance_labels: torch.Tensor | None = None,
        topic_soft: torch.Tensor | None = None,
        stance_soft: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        hidden = self.encode(input_ids, attention_mask)
        sentence = _mean(hidden, attention_mask.unsqueeze(1)).squeeze(1)  # [B, H]
        topic_logits = self.topic_head(self.dropout(sentence))

        mention = _mean(hidden, mention_mask)  # [B, A, H]
        sent = sentence.unsqueeze(1).expand_as(mention)
        # A slot whose mention was truncated away or not found falls back to the sentence.
        mention = torch.where(mention_mask.sum(-1, keepdim=True) > 0, mention, sent)
        features = torch.cat([sent, mention, sent * mention], dim=-1)  # [B, A, 3H]
        if target_input_ids is not None and target_input_ids.shape[0] > 0:
            t_hidden = self.encode(target_input_ids, target_attention_mask)
            t_sent = _mean(t_hidden, target_attention_mask.unsqueeze(1)).squeeze(1)  # [P, H]
            t_mention = _mean(t_hidden, target_mention_mask.unsqueeze(1)).squeeze(1)
            t_mention = torch.where(target_mention_mask.sum(-1, keepdim=True) > 0, t_mention, t_sent)
            t_features = torch.cat([t_sent, t_mention, t_sent * t_mention], dim=-1)
            B, A, F = features.shape
            features = features.reshape(B * A, F).index_copy(0, target_slot, t_features.to(features.dtype))
            features = features.reshape(B, A, F)
        stance_logits = self.stance_head(self.dropout(features))

        out = {"topic_logits": topic_logits, "stance_logits": stance_logits}
        if topic_labels is not None and stance_labels is not None:
            topic_loss = nn.functional.binary_cross_entropy_with_logits(
                topic_logits, topic_labels, pos_weight=self.topic_pos_weight
            )
            flat_labels = stance_labels.reshape(-1)
            if (flat_labels != IGNORE).any():
                stance_loss = nn.functional.cross_entropy(
                    stance_logits.reshape(-1, len(STANCES)), flat_labels,
                    weight=self.stance_class_weight, ignore_index=IGNORE,
                    label_smoothing=self.label_smoothing,
                )
            else:
                stance_loss = stance_logits.sum() * 0.0
            if topic_soft is not None and stance_soft is not None:
                topic_loss, stance_loss = self._distilled(topic_logits, stance_logits, topic_soft, stance_soft,
                                                          topic_loss, stance_loss)
            out["loss"] = topic_loss + stance_loss
        return out

    def _distilled(self, topic_logits, stance_logits, topic_soft, stance_soft, topic_loss, stance_loss):
        """The hard losses mixed with cross-entropy against a teacher's probabilities.
        The soft part has no class weights: the teacher's probabilities already carry
        its decision rule, and weighting them again would push the student past it."""
        w = self.distill_weight
        soft_topic = nn.functional.binary_cross_entropy_with_logits(topic_logits, topic_soft)
        flat_soft = stance_soft.reshape(-1, len(STANCES))
        has = flat_soft.sum(-1) > 0  # slots with a stance target
        if has.any():
            log_p = torch.log_softmax(stance_logits.reshape(-1, len(STANCES))[has].float(), dim=-1)
            soft_stance = -(flat_soft[has] * log_p).sum(-1).mean()
            stance_loss = (1 - w) * stance_loss + w * soft_stance
        return (1 - w) * topic_loss + w * soft_topic, stance_loss


def _mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``hidden`` [N, T, H] over the tokens each row of ``mask`` [N, K, T]
    selects → [N, K, H] (zeros where a row selects nothing)."""
    m = mask.to(hidden.dtype)
    return torch.einsum("nkt,nth->nkh", m, hidden) / m.sum(-1, keepdim=True).clamp(min=1.0)
