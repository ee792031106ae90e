"""tools/self_train_labels.py: confident pseudo-labels written as pool references
that load back as training data. Uses a small pool made here, not ../shared."""
import importlib.util
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from persian_stance.train.realnews import POOL_ENV
from persian_stance.train.records import load_records

ROOT = Path(__file__).resolve().parents[1]
ARTICLES = {
    "a-1": "تحریم‌های آمریکا علیه ایران بار دیگر تشدید شد و صادرات نفت کاهش یافت. "
           "هوا امروز در تهران آفتابی است و دمای هوا بالا رفت.",
    "a-2": "نیروهای ارتش سوریه با حمایت روسیه به مواضع تروریست‌ها در ادلب حمله کردند. "
           "وزارت بهداشت از واکسیناسیون گسترده علیه کرونا خبر داد.",
}


def _tool():
    spec = importlib.util.spec_from_file_location("self_train_labels", ROOT / "tools" / "self_train_labels.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _result(topics: dict, stances: list):
    actors = [SimpleNamespace(actor=a, stance=None if s is None else max(s, key=s.get), scores=s) for a, s in stances]
    return SimpleNamespace(topics=topics, actors=actors)


def test_confident_needs_every_topic_and_every_stance_to_be_sure():
    confident = _tool().confident
    sure = {"favor": 0.05, "against": 0.9, "neutral": 0.05}
    unsure = {"favor": 0.3, "against": 0.4, "neutral": 0.3}
    assert confident(_result({"syria": 0.95, "covid": 0.01}, [("usa", sure)]), 0.05, 0.9, 0.8)
    assert not confident(_result({"syria": 0.95, "covid": 0.3}, [("usa", sure)]), 0.05, 0.9, 0.8)
    assert not confident(_result({"syria": 0.01}, [("usa", sure), ("iran", unsure)]), 0.05, 0.9, 0.8)
    # an actor the model did not read (past the truncation point) has no stance to trust
    assert not confident(_result({"syria": 0.01}, [("usa", None)]), 0.05, 0.9, 0.8)


def test_pseudo_labels_are_references_that_load_back(tmp_path, monkeypatch):
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps({"id": k, "source": "t", "text": v}, ensure_ascii=False) + "\n"
                            for k, v in ARTICLES.items()), encoding="utf-8")
    monkeypatch.setenv(POOL_ENV, str(pool))
    tool = _tool()
    monkeypatch.setattr(tool, "labelled_articles", lambda: {"a-2"})  # a-2 has labelled sentences: never used
    monkeypatch.setattr(tool, "measured_texts", lambda: set())
    out = tmp_path / "pseudo.jsonl"
    # thresholds that keep everything, so that what is written does not depend on the model's certainty
    monkeypatch.setattr(sys, "argv", ["self_train_labels.py", "--out", str(out), "--topic-low", "0.5",
                                      "--topic-high", "0.5", "--stance-min", "0", "--min-words", "1",
                                      "--plain-share", "0.5"])
    assert tool.main() == 0
    raw = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert raw and {r["article"] for r in raw} == {"a-1"}
    assert all("text" not in r and r["source"] == "pseudo" for r in raw)
    records = load_records([out])
    from persian_stance.infer import Predictor

    labels = Predictor.load("default", device="cpu").predict_article(ARTICLES["a-1"])
    by_text = {s.text: s for s in labels.sentences}
    for r in records:
        assert r.text in ARTICLES["a-1"]
        assert list(r.topics) == by_text[r.text].topic_labels
        assert r.stances == {a.actor: a.stance for a in by_text[r.text].actors}
