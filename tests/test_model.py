"""Training, saving and loading, on a tiny BERT built inside the test."""
import json
import shutil

import numpy as np
import pytest

from persian_stance.infer.checkpoint import CheckpointError, load_checkpoint
from persian_stance.infer.encoders import zwnj_policy
from persian_stance.infer.predictor import Predictor
from persian_stance.train.trainer import train

from conftest import ROOT
from conftest import TINY_RECORDS as RECORDS
from conftest import tiny_config


@pytest.mark.slow
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


def _logits(model, preparer, texts):
    import torch

    from persian_stance.infer.features import collate

    feats = [preparer.prepare(t).features for t in texts]
    batch = collate([{"input_ids": f.input_ids, "mention_tokens": f.mention_tokens} for f in feats],
                    preparer.tokenizer.pad_token_id)
    model.eval()
    with torch.no_grad():
        out = model(**{k: v.to(next(model.parameters()).device) for k, v in batch.items()})
    return out["topic_logits"].cpu().numpy(), out["stance_logits"].cpu().numpy()


@pytest.mark.slow
@pytest.mark.parametrize("finetune", ["lora", "full", "layers"])
def test_saved_checkpoint_reproduces_the_trained_model_in_memory(tiny, tmp_path, finetune):
    """The model as the Trainer left it, still in memory, against the checkpoint
    written from it and loaded back (LoRA merged into the encoder at load)."""
    import dataclasses

    from persian_stance.infer.checkpoint import build_model, read_config, read_weights
    from persian_stance.train.trainer import build, fit, write

    root, data, encoder = tiny
    config = tiny_config(root, data, encoder, finetune, tmp_path / "ckpt")
    config.training.epochs = 8
    config.output.work_dir = str(tmp_path / "work")
    session = build(config, quiet=True)
    path = write(session, fit(session))
    texts = [r[0] for r in RECORDS]
    trained = _logits(session.model, session.preparer, texts)
    loaded, _, ckpt = load_checkpoint(path)
    reloaded = _logits(loaded, session.preparer, texts)
    # fp16 storage of the layers rounds each weight by about 1e-3 of itself
    atol = 2e-2 if finetune == "layers" else 1e-4
    np.testing.assert_allclose(reloaded[0], trained[0], rtol=0, atol=atol)
    np.testing.assert_allclose(reloaded[1], trained[1], rtol=0, atol=atol)
    if finetune == "layers":
        from safetensors import safe_open

        with safe_open(str(path / "model.safetensors"), "pt") as f:
            keys = list(f.keys())
            assert all(f.get_tensor(k).dtype.is_floating_point for k in keys)
            assert f.get_tensor("encoder.encoder.layer.0.attention.self.query.weight").dtype.itemsize == 2
        assert "encoder.embeddings.word_embeddings.weight" not in keys
        assert ckpt.encoder_stored == "layers-fp16"
        # the frozen embeddings did not move in training
        import torch

        from persian_stance.infer.encoders import load_encoder
        pre = load_encoder(ckpt.encoder).get_input_embeddings().weight
        assert torch.equal(session.model.encoder.get_input_embeddings().weight.detach(), pre.detach())
    if finetune == "lora":
        # The comparison is sharp enough to see a wrong LoRA scale (alpha / r).
        assert np.abs(session.model.get_base_model().encoder.encoder.layer[0].attention.self.query
                      .lora_B["default"].weight.detach().numpy()).max() > 1e-3  # the adapters did move
        wrong = dataclasses.replace(ckpt, lora={**ckpt.lora, "alpha": ckpt.lora["alpha"] * 2})
        doubled, _ = build_model(wrong, read_weights(path))
        assert np.abs(_logits(doubled, session.preparer, texts)[1] - trained[1]).max() > 1e-2
        assert read_config(path).lora == ckpt.lora


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
    from persian_stance.infer.checkpoint import read_config, read_weights, save_checkpoint

    broken = shutil.copytree(trained, tmp_path / "wrong")
    state = read_weights(broken)
    state.pop(next(k for k in state if k.startswith("stance_head")))
    save_checkpoint(broken, read_config(broken), state)  # its hash matches: the layout is what is wrong
    with pytest.raises(CheckpointError, match="do not match the model"):
        load_checkpoint(broken)


def test_weights_hash_is_recorded_at_save_and_checked_at_load(trained, tmp_path):
    """A damaged file of the right size and layout parses; only its hash tells."""
    import dataclasses
    import hashlib

    from persian_stance.infer.checkpoint import read_config, write_config

    recorded = json.loads((trained / "config.json").read_text(encoding="utf-8"))["weights_sha256"]
    assert recorded == hashlib.sha256((trained / "model.safetensors").read_bytes()).hexdigest()
    flipped = shutil.copytree(trained, tmp_path / "flipped")
    data = bytearray((flipped / "model.safetensors").read_bytes())
    data[-4:] = b"\xff\xff\xff\xff"  # the last float32 becomes NaN
    (flipped / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"model\.safetensors is damaged: its SHA-256 is [0-9a-f]{64}, but "
                                              rf"config\.json records {recorded}"):
        load_checkpoint(flipped)
    # Rewriting the config (as calibrating does) keeps the hash of the unchanged weights.
    recalibrated = shutil.copytree(trained, tmp_path / "recalibrated")
    write_config(recalibrated, dataclasses.replace(read_config(recalibrated), weights_sha256=None))
    assert read_config(recalibrated).weights_sha256 == recorded
    # A checkpoint saved before hashes were recorded still loads.
    old = shutil.copytree(trained, tmp_path / "old")
    cfg = json.loads((old / "config.json").read_text(encoding="utf-8"))
    del cfg["weights_sha256"]
    (old / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    load_checkpoint(old)


def test_the_shipped_checkpoint_records_the_hash_of_its_weights():
    import hashlib

    from persian_stance.infer.checkpoint import read_config

    shipped = ROOT / "checkpoints" / "default"
    assert read_config(shipped).weights_sha256 == \
        hashlib.sha256((shipped / "model.safetensors").read_bytes()).hexdigest()


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


@pytest.mark.slow
def test_training_can_start_from_a_checkpoint(tiny, tiny_checkpoint, tmp_path):
    """training.init_from loads a checkpoint's LoRA and heads: with no training
    at all (learning rates 0) the new checkpoint predicts what the old one did."""
    root, data, encoder = tiny
    config = tiny_config(root, data, encoder, "lora", tmp_path / "ckpt")
    config.training.init_from = str(tiny_checkpoint)
    config.training.epochs = 1
    config.training.learning_rate = 0.0
    config.training.head_learning_rate = 0.0
    config.training.calibrate = False
    config.output.work_dir = str(tmp_path / "work")
    out = train(config, quiet=True)
    texts = [r[0] for r in RECORDS]
    old, new = Predictor.load(tiny_checkpoint), Predictor.load(out)
    prepared = [old.preparer.prepare(t) for t in texts]
    for (t0, s0), (t1, s1) in zip(old.logits(prepared), new.logits(prepared)):
        np.testing.assert_allclose(t1, t0, atol=1e-5)
        np.testing.assert_allclose(s1, s0, atol=1e-5)
    bad = tiny_config(root, data, encoder, "full", tmp_path / "ckpt2")
    bad.training.init_from = str(tiny_checkpoint)
    bad.output.work_dir = str(tmp_path / "work2")
    with pytest.raises(CheckpointError, match="cannot start training from it"):
        train(bad, quiet=True)
