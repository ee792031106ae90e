"""The ONNX Runtime backend on the shipped checkpoint: parity with torch, the
export cache (reused, rebuilt when the weights change), errors, and the CLI.

The exports go to a cache folder of this module's own, beside a link to the
real e5-small build, so the tests neither reuse nor disturb the user's exports."""
import dataclasses
import json
import os
import shutil
import sys

import numpy as np
import pytest

from persian_stance.infer import onnx_engine
from persian_stance.infer.cli import main as label_main
from persian_stance.infer.errors import SettingError
from persian_stance.infer.predictor import Predictor, resolve_model

from conftest import ROOT

SENTENCES = [
    "تحریم‌های غیرقانونی آمریکا علیه ایران ادامه دارد.",
    "اردوغان از حمایت ترکیه از ایران خبر داد.",
    "ارتش سوریه با حمایت روسیه تروریست‌های داعش را از حلب بیرون راند.",
    "آتش‌بس قره‌باغ میان آذربایجان و ارمنستان با میانجی‌گری روسیه برقرار شد.",
    "شیوع کرونا در اروپا رکورد تازه‌ای ثبت کرد.",
    "رژیم صهیونیستی بار دیگر به خاک سوریه حمله کرد.",
]
# fp32 ONNX Runtime and torch run the same arithmetic in another order: the
# probabilities agree to about 1e-6 (measured); 1e-4 leaves room for other CPUs.
PROB_TOLERANCE = 1e-4


def _labels(results):
    return [(r.topic_labels, [(a.actor, a.stance) for a in r.actors]) for r in results]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory):
    """A cache root of this module's own that shares the built e5-small encoder."""
    from persian_stance.infer.encoders import cache_dir, resolve

    resolve("e5-small")  # built into the real cache first, if it is not there yet
    root = tmp_path_factory.mktemp("cache")
    (root / "encoders").symlink_to(cache_dir() / "encoders", target_is_directory=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PERSIAN_STANCE_CACHE", str(root))
        yield root


@pytest.fixture(scope="module")
def builds(onnx_cache):
    """Counts the exports built (module-wide, as the cache is)."""
    made = []
    real = onnx_engine.build_export
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(onnx_engine, "build_export", lambda *a, **k: made.append(a[1]) or real(*a, **k))
        yield made


@pytest.fixture(scope="module")
def torch_fp32():
    return Predictor.load(device="cpu", threads=1)


@pytest.fixture(scope="module")
def onnx_fp32(builds):
    return Predictor.load(backend="onnx", threads=1)


@pytest.mark.slow
def test_fp32_onnx_gives_torch_labels_and_probabilities(torch_fp32, onnx_fp32):
    assert onnx_fp32.backend == "onnx" and torch_fp32.backend == "torch"
    # The session really stands in for the encoder, whose torch weights are gone.
    assert isinstance(onnx_fp32.model.encode, onnx_engine.OnnxEncoder)
    assert next(onnx_fp32.model.encoder.parameters()).is_meta
    assert _labels(onnx_fp32.predict(SENTENCES)) == _labels(torch_fp32.predict(SENTENCES))
    t_topics, t_stances = torch_fp32.predict_proba(SENTENCES)
    o_topics, o_stances = onnx_fp32.predict_proba(SENTENCES)
    np.testing.assert_allclose(o_topics, t_topics, atol=PROB_TOLERANCE, rtol=0)
    np.testing.assert_allclose(o_stances, t_stances, atol=PROB_TOLERANCE, rtol=0)  # NaN rows must match too
    assert not np.isnan(t_stances).all()  # the sentences do mention actors


@pytest.mark.slow
def test_int8_onnx_labels_mostly_those_of_fp32(torch_fp32, builds):
    text = (ROOT / "seeds" / "000_ceb40c46ca905291.txt").read_text(encoding="utf-8")
    sentences = [s.text for s in torch_fp32.segment(text)] + SENTENCES
    int8 = Predictor.load(backend="onnx", quantize=True, threads=1)
    assert int8.model.onnx_export.name.startswith("e5-small-int8-")
    same = np.mean([a == b for a, b in zip(_labels(int8.predict(sentences)), _labels(torch_fp32.predict(sentences)))])
    # On 600 real sentences 1.8 % changed; a few sentences here may, most may not.
    assert same >= 0.85, same
    # …and int8 did run: the probabilities move a little.
    assert not np.array_equal(int8.predict_proba(SENTENCES)[0], torch_fp32.predict_proba(SENTENCES)[0])


@pytest.mark.slow
def test_export_is_reused_then_rebuilt_when_the_weights_change(onnx_fp32, builds, onnx_cache, tmp_path):
    from safetensors.torch import load_file, save_file

    from persian_stance.infer.checkpoint import WEIGHTS_FILE, read_config, weights_sha256, write_config

    folder = onnx_fp32.model.onnx_export
    assert folder.parent == onnx_cache / "onnx" and folder in builds
    mtime = (folder / onnx_engine.MODEL_FILE).stat().st_mtime_ns
    n_builds = len(builds)
    again = Predictor.load(backend="onnx", threads=1)
    assert again.model.onnx_export == folder and len(builds) == n_builds  # reused, not rebuilt
    assert (folder / onnx_engine.MODEL_FILE).stat().st_mtime_ns == mtime

    # The same checkpoint with one head weight changed, and its hash recorded.
    changed = tmp_path / "changed"
    shutil.copytree(resolve_model("default"), changed)
    state = load_file(str(changed / WEIGHTS_FILE))
    state["topic_head.bias"] = state["topic_head.bias"] + 1.0
    save_file(state, str(changed / WEIGHTS_FILE), metadata={"format": "persian-stance-checkpoint"})
    write_config(changed, dataclasses.replace(read_config(changed), weights_sha256=weights_sha256(changed)))
    other = Predictor.load(changed, backend="onnx", threads=1)
    assert other.model.onnx_export != folder and len(builds) == n_builds + 1
    assert json.loads((other.model.onnx_export / onnx_engine.INFO_FILE).read_text())["weights_sha256"] == \
        weights_sha256(changed)
    assert not np.allclose(other.predict_proba(SENTENCES)[0], again.predict_proba(SENTENCES)[0])


@pytest.mark.slow
def test_bad_input_gives_error_records_with_the_onnx_backend(onnx_fp32, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "good.txt").write_text(" ".join(SENTENCES[:2]), encoding="utf-8")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\x00\x00\x01\x02")
    (tmp_path / "english.txt").write_text("Nothing here is written in Persian at all.", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    rc = label_main(["good.txt", "empty.txt", "binary.txt", "english.txt", "--out", str(out), "--backend", "onnx",
                     "--threads", "1", "--no-progress"])
    assert rc == 1
    recs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    errors = {r["id"]: r["error"] for r in recs if "error" in r}
    assert errors["empty.txt"] == "empty input"
    assert errors["binary.txt"].startswith("binary file")
    assert errors["english.txt"].startswith("no Persian text")
    labelled = [r for r in recs if "error" not in r]
    assert {r["id"] for r in labelled} == {"good.txt"} and len(labelled) == 2
    expected = [r.to_dict() for r in onnx_fp32.predict_article(" ".join(SENTENCES[:2])).sentences]
    assert [{k: r[k] for k in expected[0]} for r in labelled] == expected


def test_onnx_backend_refuses_a_gpu_and_unknown_backends():
    # Refused before anything loads, with the reason.
    with pytest.raises(SettingError, match="CPU only"):
        Predictor.load(backend="onnx", device="cuda")
    with pytest.raises(SettingError, match="backend must be one of torch, onnx"):
        Predictor.load(backend="tensorrt")


def test_missing_onnxruntime_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    with pytest.raises(onnx_engine.OnnxBackendError, match="needs the packages onnx and onnxruntime"):
        onnx_engine.onnx_modules()


def test_cli_refuses_an_unknown_backend(capsys):
    with pytest.raises(SystemExit) as e:
        label_main(["x.txt", "--out", "-", "--backend", "tensorrt"])
    assert e.value.code == 2 and "invalid choice: 'tensorrt'" in capsys.readouterr().err
