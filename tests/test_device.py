"""``--device`` and autocast, on a machine without a GPU: the decision is a
function tested directly, and the autocast branch of the forward pass runs on
the CPU in bf16 against fp32."""
import pytest
import torch

from persian_stance.infer.cli import main as label_main
from persian_stance.infer.errors import SettingError
from persian_stance.infer.predictor import DEFAULT_BATCH_SIZE, Predictor, autocast_dtype, resolve_device

from conftest import TINY_RECORDS


@pytest.mark.parametrize("device, precision, expected", [
    ("cuda", "auto", torch.float16),
    ("cuda:1", "auto", torch.float16),
    ("cuda", "fp32", None),
    ("cuda", "bf16", torch.bfloat16),
    ("cpu", "auto", None),
    ("cpu", "fp32", None),
    ("cpu", "bf16", torch.bfloat16),
])
def test_autocast_decision(device, precision, expected):
    assert autocast_dtype(device, precision) is expected


@pytest.mark.parametrize("device, precision, message", [
    ("cpu", "fp16", "fp16 autocast needs a GPU"),
    ("cpu", "half", "precision must be one of"),
    ("tpu", "auto", "device must be cpu or cuda"),
])
def test_autocast_refusals(device, precision, message):
    with pytest.raises(SettingError, match=message):
        autocast_dtype(device, precision)


def test_device_default_and_refusals(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device(None) == "cpu"
    with pytest.raises(SettingError, match="no CUDA GPU is visible"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device(None) == "cuda"
    assert resolve_device(None, quantize=True) == "cpu"  # int8 is the CPU's path
    with pytest.raises(SettingError, match="int8 quantisation runs on the CPU only"):
        resolve_device("cuda", quantize=True)
    assert DEFAULT_BATCH_SIZE == {"cpu": 16, "cuda": 128}


@pytest.mark.parametrize("args, message", [
    (["--device", "cuda"], "--device: device 'cuda': no CUDA GPU is visible"),
    (["--quantize", "--precision", "bf16"], "--precision bf16 does not apply"),
    (["--precision", "fp16", "--device", "cpu"], "--precision fp16 needs --device cuda"),
])
def test_cli_refuses_before_loading(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    (tmp_path / "a.txt").write_text("ایران از دولت سوریه حمایت کامل کرد.", encoding="utf-8")
    rc = label_main([str(tmp_path / "a.txt"), "--out", str(tmp_path / "o.jsonl"), "--model",
                     str(tmp_path / "nowhere"), "--no-progress", *args])
    assert rc == 2
    err = capsys.readouterr().err
    assert message in err and "checkpoint" not in err, err  # refused before the (missing) model is looked for


@pytest.mark.parametrize("args, message", [
    (["--device", "cuda", "--quantize"], "int8 quantisation runs on the CPU only"),
    (["--device", "cuda", "--workers", "2"], "--workers 2 is for the CPU"),
])
def test_cli_refuses_gpu_combinations(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # as if on a GPU machine
    (tmp_path / "a.txt").write_text("ایران از دولت سوریه حمایت کامل کرد.", encoding="utf-8")
    rc = label_main([str(tmp_path / "a.txt"), "--out", str(tmp_path / "o.jsonl"), "--model",
                     str(tmp_path / "nowhere"), "--no-progress", *args])
    assert rc == 2
    err = capsys.readouterr().err
    assert message in err and "checkpoint" not in err, err


def test_autocast_branch_gives_the_fp32_labels(tiny_checkpoint):
    """The forward pass under autocast — fp16 on cuda, here bf16 on the CPU,
    through the same code — gives the labels of fp32, and really ran under
    autocast (the encoder saw it enabled)."""
    sentences = [text for text, _, _ in TINY_RECORDS]
    fp32 = Predictor.load(tiny_checkpoint, device="cpu")
    bf16 = Predictor.load(tiny_checkpoint, device="cpu", precision="bf16")
    assert fp32.autocast_dtype is None and bf16.autocast_dtype is torch.bfloat16
    seen = []
    forward = bf16.model.forward

    def spy(*args, **kwargs):
        seen.append((torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")))
        return forward(*args, **kwargs)

    bf16.model.forward = spy
    a, b = fp32.predict(sentences), bf16.predict(sentences)
    assert seen and all(on and dtype is torch.bfloat16 for on, dtype in seen)
    assert [r.topic_labels for r in a] == [r.topic_labels for r in b]
    assert [[(x.actor, x.stance) for x in r.actors] for r in a] == [[(x.actor, x.stance) for x in r.actors] for r in b]
    # bf16 keeps 8 bits of mantissa: close, not equal
    for ra, rb in zip(a, b):
        assert all(abs(ra.topics[t] - rb.topics[t]) < 0.05 for t in ra.topics)
    assert any(ra.topics != rb.topics for ra, rb in zip(a, b))  # the bf16 pass really was another computation
