"""Training, saving and loading, on a tiny BERT built inside the test."""
import json
import shutil

import numpy as np
import pytest

from persian_stance.infer.checkpoint import CheckpointError, load_checkpoint
from persian_stance.infer.encoders import zwnj_policy
from persian_stance.infer.predictor import Predictor
from persian_stance.train.config import load_config
from persian_stance.train.trainer import train

from conftest import make_tiny_bert

# A small, clearly separable labelled set: the model must fit it.
RECORDS = [
    ("آمریکا به سوریه حمله کرد و ارتش سوریه پاسخ داد.", ["syria"], {"usa": "neutral", "syria": "neutral"}),
    ("ایران از دولت سوریه حمایت کامل کرد.", ["syria"], {"iran": "neutral", "syria": "favor"}),
    ("ایران تحریم‌های ظالمانه آمریکا را محکوم کرد.", ["sanctions"], {"iran": "neutral", "usa": "against"}),
    ("روسیه تحریم‌های اروپا را غیرقانونی خواند.", ["sanctions"], {"russia": "neutral", "europe": "against"}),
    ("ترکیه واکسن کرونا به ایران فرستاد.", ["covid"], {"turkey": "neutral", "iran": "neutral"}),
    ("شیوع کرونا در ترکیه کاهش یافت.", ["covid"], {"turkey": "neutral"}),
    ("ارمنستان و آذربایجان بر سر قره‌باغ جنگیدند.", ["karabakh"], {"armenia": "against", "azerbaijan": "against"}),
    ("آتش‌بس قره‌باغ با میانجی‌گری روسیه برقرار شد.", ["karabakh"], {"russia": "favor"}),
    ("ایران دوست و برادر ترکیه است.", [], {"iran": "favor", "turkey": "favor"}),
    ("اسرائیل رژیمی متجاوز و جنایتکار است.", [], {"israel": "against"}),
    ("عربستان و ایران روابط خود را از سر گرفتند.", [], {"saudi_arabia": "favor", "iran": "favor"}),
    ("هوای امروز آفتابی و گرم است.", [], {}),
]


def _write(path, records):
    with open(path, "w", encoding="utf-8") as f:
        for i, (text, topics, stances) in enumerate(records):
            f.write(json.dumps({"id": f"t-{i}", "text": text, "topics": topics, "stances": stances},
                               ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    data = _write(root / "train.jsonl", RECORDS)
    encoder = make_tiny_bert(root / "encoder", [r[0] for r in RECORDS] * 3)
    return root, data, encoder


def _config(root, data, encoder, finetune, out):
    return load_config(None, [
        f"data.train=['{data}']", f"data.dev=['{data}']", f"encoder.name='{encoder}'",
        f"encoder.finetune='{finetune}'", "encoder.max_length=64", "training.epochs=30",
        "training.batch_size=4", "training.learning_rate=0.003", "training.head_learning_rate=0.003",
        "training.early_stopping_patience=30", "training.warmup_ratio=0.0", "training.logging_steps=3",
        "heads.dropout=0.0", "heads.stance_hidden=32",
        f"output.dir='{out}'", f"output.work_dir='{root / ('work-' + finetune)}'",
    ])


@pytest.mark.parametrize("finetune", ["full", "lora"])
def test_tiny_encoder_learns_a_small_set(tiny, finetune):
    root, data, encoder = tiny
    out = train(_config(root, data, encoder, finetune, root / f"ckpt-{finetune}"), quiet=True)
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
def trained(tiny):
    root, data, encoder = tiny
    return train(_config(root, data, encoder, "lora", root / "ckpt-roundtrip"), quiet=True)


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
