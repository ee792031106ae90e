"""Training, saving and loading, on a tiny BERT built inside the test."""
import json
import shutil

import numpy as np
import pytest

from persian_stance.infer.checkpoint import CheckpointError, load_checkpoint
from persian_stance.infer.encoders import zwnj_policy
from persian_stance.infer.predictor import Predictor
from persian_stance.train.trainer import train

from conftest import TINY_RECORDS as RECORDS
from conftest import tiny_config


@pytest.mark.parametrize("finetune", ["full", "lora"])
def test_tiny_encoder_learns_a_small_set(tiny, finetune):
    root, data, encoder = tiny
    out = train(tiny_config(root, data, encoder, finetune, root / f"ckpt-{finetune}"), quiet=True)
    losses = json.loads((out / "metrics.json").read_text())["training"]["loss_curve"]
    assert losses[-1][1] < 0.5 * losses[0][1], losses
    predictor = Predictor.load(out)
    results = predictor.predict([r[0] for r in RECORDS])
    wrong_topics = [(r.text, r.topic_labels, g[1]) for r, g in zip(results, RECORDS) if r.topic_labels != g[1]]
    assert len(wrong_topics) <= 1, wrong_topics
    pairs = [(a.actor, a.stance) for r in results for a in r.actors]
    gold = [(a, s) for g in RECORDS for a, s in g[2].items()]
    agree = sum(p in gold for p in pairs) / len(gold)
    assert agree >= 0.85, (agree, pairs)


def test_parsbert_like_tokenizer_gets_zwnj_marker(tiny):
    from transformers import AutoTokenizer

    _, _, encoder = tiny
    assert zwnj_policy(AutoTokenizer.from_pretrained(str(encoder))) == "marker"


@pytest.fixture(scope="module")
def trained(tiny_checkpoint):
    return tiny_checkpoint


def test_save_and_load_give_identical_predictions(trained, tmp_path):
    texts = [r[0] for r in RECORDS]
    first = Predictor.load(trained).predict_proba(texts)
    copy = shutil.copytree(trained, tmp_path / "copy")
    second = Predictor.load(copy).predict_proba(texts)
    np.testing.assert_allclose(first[0], second[0], rtol=0, atol=1e-6)
    np.testing.assert_allclose(first[1], second[1], rtol=0, atol=1e-6, equal_nan=True)


def test_checkpoint_holds_only_safetensors_and_text(trained):
    names = sorted(p.name for p in trained.iterdir())
    assert names == ["README.md", "config.json", "metrics.json", "model.safetensors", "training.toml"]
    card = (trained / "README.md").read_text(encoding="utf-8")
    assert "Encoder" in card and "Command" in card and "Date" in card


def test_damaged_weights_give_a_clear_error(trained, tmp_path):
    broken = shutil.copytree(trained, tmp_path / "broken")
    data = (broken / "model.safetensors").read_bytes()
    (broken / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="model.safetensors is damaged"):
        load_checkpoint(broken)


def test_missing_config_gives_a_clear_error(trained, tmp_path):
    broken = shutil.copytree(trained, tmp_path / "noconfig")
    (broken / "config.json").unlink()
    with pytest.raises(CheckpointError, match="config.json is missing"):
        load_checkpoint(broken)


def test_wrong_weights_give_a_clear_error(trained, tmp_path):
    from safetensors.torch import load_file, save_file

    broken = shutil.copytree(trained, tmp_path / "wrong")
    state = load_file(str(broken / "model.safetensors"))
    state.pop(next(k for k in state if k.startswith("stance_head")))
    save_file(state, str(broken / "model.safetensors"))
    with pytest.raises(CheckpointError, match="do not match the model"):
        load_checkpoint(broken)


def test_interrupted_save_leaves_the_old_checkpoint(trained, tmp_path, monkeypatch):
    from persian_stance.infer import checkpoint as ck

    target = shutil.copytree(trained, tmp_path / "target")
    config = ck.read_config(target)
    state = ck.read_weights(target)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(ck, "_write_text", boom)
    with pytest.raises(OSError):
        ck.save_checkpoint(target, config, state)
    load_checkpoint(target)  # still complete and loadable
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".target")]
