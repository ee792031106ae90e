"""Training configuration: a TOML file plus command-line overrides.

Every value has a default here, so a config file only states what differs.
``--set section.key=value`` overrides anything; the resolved configuration is
saved with the checkpoint as ``training.toml``.
"""
from __future__ import annotations

import ast
import dataclasses
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

from persian_stance.infer.encoders import DEFAULT_MAX_LENGTH, MAX_LENGTH_RANGE, EncoderLoadError, check_encoder_name
from persian_stance.infer.errors import UserError
from persian_stance.infer.normalize import DIGIT_POLICIES, NormalizerConfig


@dataclass
class DataConfig:
    train: list[str] = field(default_factory=lambda: ["train"])
    """Split names (train/dev/test), ``seeds`` or JSON Lines paths."""
    dev: list[str] = field(default_factory=lambda: ["dev"])
    train_weights: list[float] = field(default_factory=list)
    """Sampling weight of each ``train`` entry, in the same order (empty: all 1).
    Each epoch sees an entry's sentences ``weight`` times: 2 repeats them, 0.5
    keeps a fixed random half (the training seed picks it)."""
    soft_targets: str = ""
    """A teacher's probabilities for every train record (``tools/distill_targets.py``):
    the student learns them beside the gold labels (``training.distill_weight``).
    Empty: gold labels only."""


@dataclass
class EncoderConfig:
    name: str = "e5-small"
    max_length: int = DEFAULT_MAX_LENGTH
    """Tokens per sentence (prefix and special tokens included); saved in the checkpoint."""
    finetune: str = "lora"
    """``lora`` (small checkpoint, encoder weights from the preset); ``layers``:
    every encoder weight trained but the word embeddings, which stay frozen, and
    the checkpoint stores the rest in fp16 (43 MB for e5-small); ``full``: all
    of it, stored whole (470 MB for e5-small)."""
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.1
    lora_targets: list[str] = field(
        default_factory=lambda: ["query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"]
    )


@dataclass
class HeadConfig:
    dropout: float = 0.1
    stance_hidden: int = 384
    stance_input: str = "pooled"
    """``pooled``: one encoder pass per sentence, the stance head pools each
    actor's mention tokens. ``marked``: one more pass per mentioned actor with
    its mentions wrapped in markers (about twice the compute; see infer/features.py)."""


@dataclass
class TrainingConfig:
    epochs: int = 8
    batch_size: int = 16
    learning_rate: float = 1e-3
    """Peak learning rate of the encoder's trainable weights (LoRA matrices, or all
    of them with full fine-tuning). Set on the optimizer, the only place it is read."""
    head_learning_rate: float = 1e-3
    """Peak learning rate of the task heads."""
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    """Share of all optimizer steps spent warming the learning rate up linearly, in [0, 1)."""
    seed: int = 13
    early_stopping_patience: int = 2
    class_weights: bool = True
    class_weight_power: float = 1.0
    """Stance class weights are (inverse class frequency) ** power: 1 balances the
    classes fully, 0.5 halfway (softer when test data is more neutral), 0 not at all."""
    max_class_weight: float = 5.0
    label_smoothing: float = 0.0
    """Label smoothing of the stance loss (curbs over-confidence on authored text)."""
    gradient_accumulation_steps: int = 1
    mixed_precision: str = "auto"
    """``auto`` (bf16 on a GPU that has it, else fp32), ``bf16``, ``fp16`` or ``no``."""
    threads: int = 0
    """CPU threads for torch; 0 leaves torch's default."""
    calibrate: bool = True
    """Fit topic and stance temperatures on the dev data after training (the
    scores then read as probabilities); thresholds are tuned after it."""
    stance_rule: str = "argmax"
    """``argmax``, or ``prior``: also fit a per-class stance bias for macro-F1 on dev."""
    distill_weight: float = 0.5
    """With ``data.soft_targets``: the loss is (1 - w) × gold-label loss + w × loss
    against the teacher's probabilities."""
    logging_steps: int = 20
    init_from: str = ""
    """A checkpoint folder whose trained weights start this run (same encoder,
    fine-tuning mode, LoRA shape and head size; the stance input may differ): e.g. one more epoch on
    real-news text only after mixed training. Empty: the pretrained encoder."""


@dataclass
class OutputConfig:
    dir: str = "checkpoints/default"
    work_dir: str = "runs/default"
    """Where the Trainer keeps its intermediate checkpoints (for --resume)."""


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    normalizer: NormalizerConfig = field(default_factory=NormalizerConfig)
    """``digits`` (latin, persian or keep), ``fix_half_spaces``, ``remove_diacritics``:
    the text normalisation training uses, saved in the checkpoint for inference."""
    heads: HeadConfig = field(default_factory=HeadConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    output: OutputConfig = field(default_factory=OutputConfig)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_toml(self) -> str:
        lines = []
        for section, values in self.to_dict().items():
            lines.append(f"[{section}]")
            for k, v in values.items():
                lines.append(f"{k} = {_toml_value(v)}")
            lines.append("")
        return "\n".join(lines)


class ConfigError(UserError, ValueError):
    pass


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return repr(v)


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    cfg = Config()
    if path is not None:
        path = Path(path)
        try:
            with open(path, "rb") as f:
                raw = tomllib.load(f)
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from None
        for section, values in raw.items():
            if not isinstance(values, dict):
                raise ConfigError(f"{path}: top-level key {section!r} must be a [section]")
            for key, value in values.items():
                _set(cfg, section, key, value, where=str(path))
    for item in overrides or []:
        if "=" not in item or "." not in item.split("=", 1)[0]:
            raise ConfigError(f"override {item!r} must look like section.key=value")
        dotted, raw_value = item.split("=", 1)
        section, key = dotted.strip().split(".", 1)
        _set(cfg, section, key, _parse_value(raw_value.strip()), where="--set")
    _check_ranges(cfg)
    try:
        # Before any data is read: a misspelt encoder should not wait for it.
        check_encoder_name(cfg.encoder.name)
    except EncoderLoadError as e:
        raise ConfigError(f"encoder.name: {e}") from None
    return cfg


# Allowed values, checked after the file and the overrides are applied, so that
# training never starts on a value it would misread. Each message names the key.
_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "encoder.max_length": (lambda v: MAX_LENGTH_RANGE[0] <= v <= MAX_LENGTH_RANGE[1],
                           "between {} and {}".format(*MAX_LENGTH_RANGE)),
    "encoder.finetune": (lambda v: v in ("lora", "layers", "full"), "'lora', 'layers' or 'full'"),
    "encoder.lora_r": (lambda v: v >= 1, "at least 1"),
    "encoder.lora_alpha": (lambda v: v > 0, "above 0"),
    "encoder.lora_dropout": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "heads.dropout": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "heads.stance_hidden": (lambda v: v >= 1, "at least 1"),
    "heads.stance_input": (lambda v: v in ("pooled", "marked"), "pooled or marked"),
    "training.epochs": (lambda v: v >= 1, "at least 1"),
    "training.batch_size": (lambda v: v >= 1, "at least 1"),
    "training.learning_rate": (lambda v: 0 < v < 1, "in (0, 1)"),
    "training.head_learning_rate": (lambda v: 0 < v < 1, "in (0, 1)"),
    "training.weight_decay": (lambda v: v >= 0, "at least 0"),
    # The Trainer reads a warmup value >= 1 as a number of steps, not a share.
    "training.warmup_ratio": (lambda v: 0 <= v < 1, "in [0, 1) (a share of all steps)"),
    "training.early_stopping_patience": (lambda v: v >= 1, "at least 1"),
    "training.class_weight_power": (lambda v: v >= 0, "at least 0"),
    "training.max_class_weight": (lambda v: v >= 1, "at least 1"),
    "training.label_smoothing": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "training.distill_weight": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "training.gradient_accumulation_steps": (lambda v: v >= 1, "at least 1"),
    "training.mixed_precision": (lambda v: v in ("auto", "bf16", "fp16", "no"), "auto, bf16, fp16 or no"),
    "training.stance_rule": (lambda v: v in ("argmax", "prior"), "'argmax' or 'prior'"),
    "training.threads": (lambda v: v >= 0, "at least 0"),
    "training.logging_steps": (lambda v: v >= 1, "at least 1"),
    "normalizer.digits": (lambda v: v in DIGIT_POLICIES, " or ".join(DIGIT_POLICIES)),
}


def _check_ranges(cfg: Config) -> None:
    weights = cfg.data.train_weights
    if weights:
        if len(weights) != len(cfg.data.train):
            raise ConfigError(f"data.train_weights has {len(weights)} entries but data.train has "
                              f"{len(cfg.data.train)}: give one weight per train entry")
        bad = [w for w in weights if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 < w <= 10]
        if bad:
            raise ConfigError(f"data.train_weights must be numbers in (0, 10], not {bad}")
    for dotted, (ok, allowed) in _RULES.items():
        section, key = dotted.split(".")
        value = getattr(getattr(cfg, section), key)
        if not ok(value):
            raise ConfigError(f"{dotted} must be {allowed}, not {value!r}")


def _parse_value(s: str) -> Any:
    if s.lower() in ("true", "false"):
        return s.lower() == "true"
    try:
        return ast.literal_eval(s)
    except (ValueError, SyntaxError):
        return s


def _set(cfg: Config, section: str, key: str, value: Any, where: str) -> None:
    if section not in {f.name for f in fields(Config)}:
        raise ConfigError(f"{where}: unknown section [{section}]")
    sub = getattr(cfg, section)
    known = {f.name: f for f in fields(sub)}
    if key not in known:
        raise ConfigError(f"{where}: unknown key {section}.{key}; known: {', '.join(known)}")
    current = getattr(sub, key)
    if isinstance(current, bool):
        ok = isinstance(value, bool)
    elif isinstance(current, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(current, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(current, list):
        if isinstance(value, str):
            value = [value]
        ok = isinstance(value, list)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise ConfigError(f"{where}: {section}.{key} expects {type(current).__name__}, got {value!r}")
    if sub.__dataclass_params__.frozen:
        # A section that is the runtime's own settings class (NormalizerConfig)
        # is immutable: replace it whole, so its own checks run too.
        try:
            setattr(cfg, section, dataclasses.replace(sub, **{key: value}))
        except ValueError as e:
            raise ConfigError(f"{where}: {section}.{e}") from None
    else:
        setattr(sub, key, value)
