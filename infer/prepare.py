"""The one preparation step: raw sentence text → what the model reads.

    line breaks become spaces ─► normalise (with offsets) ─► find actors
        ─► token ids + each actor's mention tokens

Training (``train/dataset.py``), serving (``Predictor``), the baselines and the
name-swap test all go through :class:`Preparer`, built from the settings a
checkpoint records (normaliser, ZWNJ policy, text prefix, max length), so a
sentence reaches the encoder in the same form whoever feeds it. Each sentence
is normalised once: an article's sentences keep the segmenter's normalisation
(:meth:`Preparer.prepare_segment`), and the actor detector reads the
normalised text as it is.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .actors import ActorDetector, Mention
from .encoders import DEFAULT_MAX_LENGTH, ZwnjPolicy
from .features import EncodedSentence, encode_sentence
from .labels import ACTORS
from .normalize import Normalized, Normalizer, NormalizerConfig
from .segment import Sentence

if TYPE_CHECKING:
    from .checkpoint import CheckpointConfig


@dataclass(frozen=True)
class Prepared:
    original: str
    """The text as the caller gave it."""
    normalized: Normalized
    """What the model reads, with the offset of each character in ``original``."""
    mentions: tuple[Mention, ...]
    """Actor mentions, spans into ``normalized.text``."""
    features: EncodedSentence | None = None
    """Token ids and mention tokens; None from :meth:`Preparer.text`."""

    @property
    def text(self) -> str:
        return self.normalized.text

    @property
    def actors(self) -> list[str]:
        """The mentioned actors, in the guideline's order."""
        found = {m.actor for m in self.mentions}
        return [a for a in ACTORS if a in found]

    def original_span(self, mention: Mention) -> tuple[int, int]:
        """Where a mention stands in ``original``."""
        return self.normalized.original_span(mention.start, mention.end)


class Preparer:
    """Turns raw sentences into :class:`Prepared` with one fixed set of settings.

    Without a tokenizer it stops after the actors (:meth:`text`): what the
    baselines and the name-swap test need.
    """

    def __init__(self, normalizer: NormalizerConfig | None = None, *, tokenizer=None, zwnj: ZwnjPolicy = "space",
                 prefix: str = "", max_length: int = DEFAULT_MAX_LENGTH, detector: ActorDetector | None = None,
                 marked: bool = False):
        self.normalizer_config = normalizer or NormalizerConfig()
        self.normalizer = Normalizer(self.normalizer_config)
        # The detector only reads text normalised here (ActorDetector.find), so
        # the shipped gazetteer serves every normaliser setting.
        self.detector = detector or ActorDetector.default()
        self.tokenizer = tokenizer
        self.zwnj = zwnj
        self.prefix = prefix
        self.max_length = max_length
        self.marked = marked

    @classmethod
    def for_checkpoint(cls, config: CheckpointConfig, tokenizer, max_length: int | None = None) -> Preparer:
        """The preparation a checkpoint was trained with (``max_length`` may shorten it)."""
        return cls(config.normalizer, tokenizer=tokenizer, zwnj=config.zwnj, prefix=config.encoder.text_prefix,
                   max_length=max_length or config.encoder.max_length, marked=config.stance_input == "marked")

    def normalize(self, raw: str) -> Normalized:
        """The normalised sentence, offsets into ``raw``. A line break inside one
        sentence is line wrapping: it becomes a space before normalising (one for
        one, so offsets stay valid), so that «می\nتوانند» is rejoined as a word."""
        return self.normalizer.normalize_with_offsets(raw.replace("\n", " "))

    def text(self, raw: str) -> Prepared:
        """Normalised text and mentions, without token ids."""
        norm = self.normalize(raw)
        return Prepared(raw, norm, tuple(self.detector.find(norm.text)))

    def prepare(self, raw: str) -> Prepared:
        """Normalised text, mentions and the features the model reads."""
        return self.encode(self.text(raw))

    def prepare_segment(self, sentence: Sentence) -> Prepared:
        """A sentence of an article, whose normalisation the segmenter already did."""
        norm = sentence.normalization()  # the segmenter splits at line breaks: none is left
        return self.encode(Prepared(sentence.text, norm, tuple(self.detector.find(norm.text))))

    def sentence(self, raw: str) -> Sentence | None:
        """``raw`` taken whole as one sentence (no splitting, no boilerplate
        removal); None when nothing is left after normalisation."""
        norm = self.normalize(raw)
        if not norm.text:
            return None
        return Sentence(0, raw, norm.text, 0, len(raw), norm.offsets)

    def encode(self, prepared: Prepared) -> Prepared:
        if self.tokenizer is None:
            raise ValueError("this Preparer has no tokenizer: it prepares text and mentions only")
        features = encode_sentence(self.tokenizer, prepared.text, [(m.actor, m.start, m.end) for m in prepared.mentions],
                                   prefix=self.prefix, zwnj=self.zwnj, max_length=self.max_length,
                                   marked=self.marked)
        return Prepared(prepared.original, prepared.normalized, prepared.mentions, features)
