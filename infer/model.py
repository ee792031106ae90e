"""The network: one encoder pass, a topic head and a mention-conditioned stance head.

sentence tokens ──encoder──► hidden states ─┬─ mean over tokens ──────────► topic logits (multi-label)
                                            └─ mean over a mention's tokens
                                               ⊕ sentence vector ⊕ product ─► stance logits (per actor slot)
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
        topic_labels: torch.Tensor | None = None,
        stance_labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        hidden = self.encode(input_ids, attention_mask)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        sentence = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        topic_logits = self.topic_head(self.dropout(sentence))

        mm = mention_mask.to(hidden.dtype)  # [B, A, T]
        count = mm.sum(-1, keepdim=True)
        mention = torch.einsum("bat,bth->bah", mm, hidden) / count.clamp(min=1.0)
        sent = sentence.unsqueeze(1).expand_as(mention)
        # A slot whose mention was truncated away or not found falls back to the sentence.
        mention = torch.where(count > 0, mention, sent)
        features = torch.cat([sent, mention, sent * mention], dim=-1)
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
            out["loss"] = topic_loss + stance_loss
        return out

