"""Checkpoint folders: safetensors weights plus JSON, written atomically, loaded
without unpickling anything.

A checkpoint folder holds:

- ``config.json``: format version, encoder spec, label maps (fixed order),
  normaliser settings, ZWNJ policy, topic thresholds, LoRA settings, and the
  SHA-256 of ``model.safetensors`` (checked at load: damaged weights of the
  right size and layout would otherwise load and give NaN);
- ``model.safetensors``: the trained weights only — the heads and the LoRA
  matrices (merged into the pretrained encoder at load time); or, after
  fine-tuning the layers with the word embeddings frozen (``encoder_stored =
  "layers-fp16"``), every encoder weight but the word embeddings, in fp16 (the
  embeddings, three quarters of e5-small, come from the preset); or, after full
  fine-tuning, the whole encoder;
- ``metrics.json``, ``training.toml`` (the configuration it was trained with)
  and ``README.md`` (model card), when written by the trainer.

Everything about the format is in this module, each writer beside its reader:
``CheckpointConfig.to_dict``/``from_dict``, ``state_to_save``/``merge_lora``
(the weights), ``save_checkpoint``/``load_checkpoint`` (the folder).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .calibration import Calibration
from .encoders import EncoderSpec, load_encoder, load_tokenizer
from .errors import SettingError, UserError
from .labels import ACTORS, GUIDELINE_VERSION, STANCES, TOPICS
from .model import TopicStanceModel
from .normalize import NormalizerConfig

FORMAT = "persian-stance-checkpoint"
FORMAT_VERSION = 1
STANCE_INPUTS = ("pooled", "marked")
ENCODER_STORED = ("all", "layers-fp16")
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


class CheckpointError(UserError, RuntimeError):
    """A checkpoint folder is missing, incomplete or damaged."""


@dataclass
class CheckpointConfig:
    encoder: EncoderSpec
    encoder_config: dict[str, Any]
    zwnj: str
    normalizer: NormalizerConfig = field(default_factory=NormalizerConfig)
    topic_thresholds: dict[str, float] = field(default_factory=lambda: {t: 0.5 for t in TOPICS})
    lora: dict[str, Any] | None = None
    """``{"r", "alpha", "targets": [module paths]}`` or None after full fine-tuning."""
    encoder_stored: str | None = None
    """What of the encoder the weights hold when ``lora`` is None: ``all``, or
    ``layers-fp16`` (all but the word embeddings, in fp16). None with LoRA."""
    dropout: float = 0.1
    stance_hidden: int | None = None
    stance_input: str = "pooled"
    """``pooled`` (one pass per sentence, the stance head pools each actor's
    mention tokens) or ``marked`` (one more pass per mentioned actor, its
    mentions marked; see features.py)."""
    calibration: Calibration = field(default_factory=Calibration)
    """Temperatures and stance bias; topic thresholds apply to the calibrated probabilities."""
    extra: dict[str, Any] = field(default_factory=dict)
    weights_sha256: str | None = None
    """Of ``model.safetensors``, set by :func:`save_checkpoint`. Checkpoints
    written before it was recorded have none, and load unchecked."""

    def __post_init__(self) -> None:
        # A bad value here would surface at load as a ZeroDivisionError (lora.r = 0)
        # or deep in torch; refuse it with the key and its range instead.
        if self.lora is not None:
            r, alpha = self.lora.get("r"), self.lora.get("alpha")
            if isinstance(r, bool) or not isinstance(r, int) or r < 1:
                raise SettingError(f"lora.r must be an integer of at least 1, not {r!r}")
            if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
                raise SettingError(f"lora.alpha must be a number above 0, not {alpha!r}")
        if not 0 <= self.dropout < 1:
            raise SettingError(f"heads.dropout must be in [0, 1), not {self.dropout!r}")
        if self.lora is not None:
            self.encoder_stored = None  # LoRA checkpoints store no encoder weights
        elif self.encoder_stored is None:
            self.encoder_stored = "all"  # what every checkpoint without LoRA held before the field
        if self.encoder_stored not in (None, *ENCODER_STORED):
            raise SettingError(f"encoder_stored must be one of {', '.join(ENCODER_STORED)}, not {self.encoder_stored!r}")
        if self.stance_input not in STANCE_INPUTS:
            raise SettingError(f"heads.stance_input must be one of {', '.join(STANCE_INPUTS)}, not {self.stance_input!r}")
        if self.stance_hidden is not None and (not isinstance(self.stance_hidden, int) or self.stance_hidden < 1):
            raise SettingError(f"heads.stance_hidden must be at least 1, not {self.stance_hidden!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "guideline_version": GUIDELINE_VERSION,
            "labels": {"topics": list(TOPICS), "actors": list(ACTORS), "stances": list(STANCES)},
            "encoder": self.encoder.to_dict(),
            "encoder_config": self.encoder_config,
            "zwnj": self.zwnj,
            "normalizer": self.normalizer.to_dict(),
            "topic_thresholds": {t: float(self.topic_thresholds[t]) for t in TOPICS},
            "lora": self.lora,
            **({"encoder_stored": self.encoder_stored} if self.encoder_stored not in (None, "all") else {}),
            "heads": {"dropout": self.dropout, "stance_hidden": self.stance_hidden,
                      **({"stance_input": self.stance_input} if self.stance_input != "pooled" else {})},
            **({"calibration": self.calibration.to_dict()} if not self.calibration.is_identity else {}),
            **({"extra": self.extra} if self.extra else {}),
            **({"weights_sha256": self.weights_sha256} if self.weights_sha256 else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "config.json") -> "CheckpointConfig":
        if d.get("format") != FORMAT:
            raise CheckpointError(f"{where}: not a persian-stance checkpoint (format {d.get('format')!r})")
        if d.get("format_version") != FORMAT_VERSION:
            raise CheckpointError(f"{where}: unsupported checkpoint format version {d.get('format_version')!r}")
        labels = d.get("labels", {})
        if labels != {"topics": list(TOPICS), "actors": list(ACTORS), "stances": list(STANCES)}:
            raise CheckpointError(f"{where}: label maps differ from this version's {TOPICS}/{ACTORS}/{STANCES}")
        try:
            heads = d.get("heads", {})
            return cls(
                encoder=EncoderSpec.from_dict(d["encoder"]),
                encoder_config=d["encoder_config"],
                zwnj=d["zwnj"],
                normalizer=NormalizerConfig.from_dict(d.get("normalizer", {})),
                topic_thresholds={t: float(d["topic_thresholds"][t]) for t in TOPICS},
                lora=d.get("lora"),
                encoder_stored=d.get("encoder_stored"),
                dropout=float(heads.get("dropout", 0.1)),
                stance_hidden=heads.get("stance_hidden"),
                stance_input=heads.get("stance_input", "pooled"),
                calibration=Calibration.from_dict(d.get("calibration")),
                extra=d.get("extra", {}),
                weights_sha256=d.get("weights_sha256"),
            )
        except SettingError as e:
            raise CheckpointError(f"{where}: {e}") from e
        except (KeyError, TypeError, ValueError) as e:
            raise CheckpointError(f"{where}: incomplete or malformed config ({e!r})") from e


def save_checkpoint(
    path: str | Path,
    config: CheckpointConfig,
    state: dict[str, torch.Tensor],
    extra_files: dict[str, str] | None = None,
) -> Path:
    """Write a checkpoint folder atomically: everything goes to a temporary
    folder beside ``path`` that replaces ``path`` in one rename, so a crash
    leaves either the old checkpoint or the new one, never half of one."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        save_file(state, str(tmp / WEIGHTS_FILE), metadata={"format": FORMAT})
        config = dataclasses.replace(config, weights_sha256=_sha256(tmp / WEIGHTS_FILE))
        _write_text(tmp / CONFIG_FILE, json.dumps(config.to_dict(), ensure_ascii=False, indent=2) + "\n")
        for name, text in (extra_files or {}).items():
            _write_text(tmp / name, text)
        os.chmod(tmp, 0o755)
        for f in tmp.iterdir():  # mkdtemp/safetensors leave owner-only modes
            os.chmod(f, 0o644)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
            os.rmdir(old)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _write_text(p: Path, text: str) -> None:
    with open(p, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def write_config(path: str | Path, config: CheckpointConfig) -> None:
    """Replace a checkpoint's ``config.json`` in one rename (calibrating a
    trained checkpoint changes its config, not its weights)."""
    path = Path(path)
    old = read_config(path)  # only ever over a checkpoint that is there and readable
    if config.weights_sha256 is None:  # the weights stay as they are, and so does their hash
        config = dataclasses.replace(config, weights_sha256=old.weights_sha256)
    tmp = path / f".{CONFIG_FILE}.tmp"
    _write_text(tmp, json.dumps(config.to_dict(), ensure_ascii=False, indent=2) + "\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path / CONFIG_FILE)


def read_config(path: str | Path) -> CheckpointConfig:
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"no checkpoint folder at {path}")
    cfg_file = path / CONFIG_FILE
    if not cfg_file.is_file():
        raise CheckpointError(f"{path} is not a complete checkpoint: {CONFIG_FILE} is missing")
    try:
        data = json.loads(cfg_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{cfg_file} is damaged: {e}") from e
    return CheckpointConfig.from_dict(data, str(cfg_file))


def read_weights(path: str | Path, sha256: str | None = None) -> dict[str, torch.Tensor]:
    """The weights of a checkpoint folder; with ``sha256`` (what its config
    records), only if the file still has that hash."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    wfile = Path(path) / WEIGHTS_FILE
    if not wfile.is_file():
        raise CheckpointError(f"{path} is not a complete checkpoint: {WEIGHTS_FILE} is missing")
    if sha256 is not None:
        actual = _sha256(wfile)
        if actual != sha256:
            raise CheckpointError(f"{wfile} is damaged: its SHA-256 is {actual}, but {CONFIG_FILE} records "
                                  f"{sha256} (the file changed after the checkpoint was saved)")
    try:
        return load_file(str(wfile))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{wfile} is damaged: {e}") from e


def weights_sha256(path: str | Path) -> str:
    """SHA-256 of a checkpoint folder's weights file, as ``save_checkpoint`` records it."""
    return _sha256(Path(path) / WEIGHTS_FILE)


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with open(file, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_model(config: CheckpointConfig, state: dict[str, torch.Tensor], where: str = "checkpoint"):
    """Model and tokenizer for a checkpoint: pretrained encoder (+ merged LoRA)
    or the stored full encoder, then the heads."""
    tokenizer = load_tokenizer(config.encoder)
    if config.encoder_stored == "all":
        encoder = load_encoder(config.encoder, from_config=config.encoder_config)
    else:
        encoder = load_encoder(config.encoder)
    model = TopicStanceModel(encoder, dropout=config.dropout, stance_hidden=config.stance_hidden)
    state = dict(state)
    if config.lora is not None:
        merge_lora(model.encoder, state, config.lora, where)
        expected = {k for k in model.state_dict() if not k.startswith("encoder.")}
    elif config.encoder_stored == "layers-fp16":
        frozen = _word_embeddings_key(model)
        expected = {k for k in model.state_dict() if k != frozen}
        dtypes = {k: v.dtype for k, v in model.state_dict().items()}
        state = {k: v.to(dtypes[k]) if k in dtypes else v for k, v in state.items()}
    else:
        expected = set(model.state_dict())
    missing = sorted(expected - set(state))
    unexpected = sorted(set(state) - set(model.state_dict()))
    if missing or unexpected:
        raise CheckpointError(
            f"{where}: weights do not match the model (missing {missing[:5]}, unexpected {unexpected[:5]})"
        )
    try:
        model.load_state_dict(state, strict=False)
    except RuntimeError as e:
        raise CheckpointError(f"{where}: weights do not fit the model: {e}") from e
    model.eval()
    return model, tokenizer


# -- the trained weights: written by state_to_save, read back by merge_lora ----
#
# Keys: ``topic_head.*`` and ``stance_head.*`` as in TopicStanceModel; with LoRA,
# ``lora.<encoder module path>.A`` / ``.B`` (the merge adds (alpha / r) · B A to
# that module's weight); after full fine-tuning, ``encoder.*`` too.


def _lora_key(target: str, matrix: str) -> str:
    return f"lora.{target}.{matrix}"


def _word_embeddings_key(model: torch.nn.Module) -> str:
    """The state-dict key of a TopicStanceModel's word embeddings."""
    weight = model.encoder.get_input_embeddings().weight
    for name, p in model.named_parameters():
        if p is weight:
            return name
    raise CheckpointError("the encoder's word embeddings are not among the model's parameters")


def state_to_save(model: torch.nn.Module, lora: dict[str, Any] | None,
                  encoder_stored: str | None = None) -> dict[str, torch.Tensor]:
    """The weights a checkpoint stores, from a trained model: heads plus either
    the LoRA matrices of ``lora["targets"]`` (``model`` is then the peft-wrapped
    TopicStanceModel), or after fine-tuning without LoRA the encoder: all of it,
    or with ``encoder_stored = "layers-fp16"`` all but the (frozen) word
    embeddings, in fp16 (the heads stay fp32: they are small)."""
    if lora is None and encoder_stored == "layers-fp16":
        frozen = _word_embeddings_key(model)
        state = {k: (v.half() if k.startswith("encoder.") and v.is_floating_point() else v)
                 for k, v in model.state_dict().items() if k != frozen}
    elif lora is None:
        state = model.state_dict()
    else:
        base = model.get_base_model()
        modules = dict(base.encoder.named_modules())
        state = {}
        for target in lora["targets"]:
            layer = modules[target]
            state[_lora_key(target, "A")] = layer.lora_A["default"].weight
            state[_lora_key(target, "B")] = layer.lora_B["default"].weight
        for head in ("topic_head", "stance_head"):
            wrapper = getattr(base, head)
            # peft keeps a trained copy of each head in modules_to_save
            module = wrapper.modules_to_save["default"] if hasattr(wrapper, "modules_to_save") else wrapper
            state.update({f"{head}.{k}": v for k, v in module.state_dict().items()})
    return {k: v.detach().cpu().contiguous() for k, v in state.items()}


def load_for_training(model: torch.nn.Module, path: str | Path, config: "CheckpointConfig") -> None:
    """Start a model about to be trained from a checkpoint's trained weights: the
    reverse of :func:`state_to_save` (LoRA matrices into the peft-wrapped model's
    adapters, heads into its trained copies; or the stored encoder weights).
    ``config`` is the new run's checkpoint config; the two must match in encoder,
    fine-tuning mode, LoRA shape and head size. The stance input may differ (the
    same weights read pooled or marked input), so a pooled model can be
    trained further on marked input."""
    old = read_config(path)
    same = (old.encoder.name == config.encoder.name and old.lora == config.lora
            and old.encoder_stored == config.encoder_stored and old.stance_hidden == config.stance_hidden)
    if not same:
        raise CheckpointError(f"{path}: cannot start training from it: its encoder, fine-tuning mode, LoRA "
                              "settings or head size differ from this configuration's")
    state = read_weights(path, old.weights_sha256)
    if config.lora is None:
        dtypes = {k: v.dtype for k, v in model.state_dict().items()}
        model.load_state_dict({k: v.to(dtypes[k]) for k, v in state.items()}, strict=False)
        return
    base = model.get_base_model()
    modules = dict(base.encoder.named_modules())
    with torch.no_grad():
        for target in config.lora["targets"]:
            modules[target].lora_A["default"].weight.copy_(state[_lora_key(target, "A")])
            modules[target].lora_B["default"].weight.copy_(state[_lora_key(target, "B")])
        for head in ("topic_head", "stance_head"):
            own = {k[len(head) + 1:]: v for k, v in state.items() if k.startswith(head + ".")}
            wrapper = getattr(base, head)
            for module in (wrapper.modules_to_save["default"], wrapper.original_module) \
                    if hasattr(wrapper, "modules_to_save") else (wrapper,):
                module.load_state_dict(own)


def merge_lora(encoder: torch.nn.Module, state: dict[str, torch.Tensor], lora: dict[str, Any], where: str) -> None:
    """W ← W + (alpha / r) · B A for every adapted linear layer (peft's scaling);
    pops the LoRA tensors from ``state``. Merged weights cost nothing at inference."""
    scale = float(lora["alpha"]) / float(lora["r"])
    modules = dict(encoder.named_modules())
    for target in lora["targets"]:
        a = state.pop(_lora_key(target, "A"), None)
        b = state.pop(_lora_key(target, "B"), None)
        if a is None or b is None or target not in modules:
            raise CheckpointError(f"{where}: LoRA weights for {target!r} are missing or do not match the encoder")
        layer = modules[target]
        delta = (b.float() @ a.float()) * scale
        if delta.shape != layer.weight.shape:
            raise CheckpointError(f"{where}: LoRA shape {tuple(delta.shape)} does not fit {target!r}")
        with torch.no_grad():
            layer.weight += delta.to(layer.weight.dtype)


def load_checkpoint(path: str | Path):
    """(model, tokenizer, config) of a checkpoint folder; raises CheckpointError."""
    config = read_config(path)
    state = read_weights(path, config.weights_sha256)
    model, tokenizer = build_model(config, state, where=str(path))
    return model, tokenizer, config

