"""Distillation: a teacher's soft targets, their file format, and the loss that uses them."""
import json

import numpy as np
import pytest
import torch

from persian_stance.infer.features import ACTOR_INDEX
from persian_stance.infer.labels import STANCES, TOPICS
from persian_stance.infer.predictor import Predictor
from persian_stance.train.records import load_records
from persian_stance.train.soft_targets import (SoftTargetError, attach, read_targets, teacher_targets,
                                               write_targets)

from conftest import TINY_RECORDS, tiny_config, write_records


def _rows(records):
    return [{"id": r.id} for r in records]


def _target_line(rid="t-0", h="abc", topic=0.5, stances=None):
    return json.dumps({"id": rid, "hash": h, "topics": {t: topic for t in TOPICS},
                       "stances": stances or {}})


@pytest.mark.slow
def test_teacher_targets_round_trip_and_attach(tiny, tiny_checkpoint, tmp_path):
    root, data, _ = tiny
    records = load_records([data])
    teacher = Predictor.load(tiny_checkpoint, device="cpu")
    path = write_targets(tmp_path / "targets.jsonl", [str(tiny_checkpoint)], teacher_targets(teacher, records, chunk=5))
    header, targets = read_targets(path)
    assert header["teacher"] == [str(tiny_checkpoint)]
    assert "text" not in path.read_text(encoding="utf-8")  # ids and hashes only
    rows = _rows(records)
    attached = attach(rows, records, targets, path)

    topics, stances = teacher.predict_proba([r.text for r in records])
    readable = 0
    for row, r, tp, sp in zip(rows, records, topics, stances):
        np.testing.assert_allclose(row["topic_soft"], tp, atol=1e-4)
        for actor, slot in ACTOR_INDEX.items():
            soft = np.array(row["stance_soft"][slot])
            if actor in r.stances and not np.isnan(sp[slot]).any():
                readable += 1
                np.testing.assert_allclose(soft, sp[slot], atol=1e-4)
                assert soft.sum() == pytest.approx(1.0, abs=1e-3)
            else:  # not gold, or unreadable: no stance target
                assert not soft.any()
    assert attached == readable > 0


def test_attach_refuses_missing_or_stale_targets(tmp_path):
    data = write_records(tmp_path / "train.jsonl", TINY_RECORDS[:2])
    records = load_records([data])
    from persian_stance.train.realnews import sentence_hash

    good = [_target_line(r.id, sentence_hash(r.text), stances={a: {s: 1 / 3 for s in STANCES} for a in r.stances})
            for r in records]
    header = json.dumps({"format": "persian-stance soft targets", "version": 1, "teacher": ["x"]})
    path = tmp_path / "t.jsonl"

    path.write_text("\n".join([header, good[0]]) + "\n", encoding="utf-8")
    with pytest.raises(SoftTargetError, match=r"no soft target for record 't-1' \(.*train.jsonl:2\)"):
        attach(_rows(records), records, read_targets(path)[1], path)

    stale = _target_line("t-1", "0" * 12)
    path.write_text("\n".join([header, good[0], stale]) + "\n", encoding="utf-8")
    with pytest.raises(SoftTargetError, match="made for another text"):
        attach(_rows(records), records, read_targets(path)[1], path)

    path.write_text("\n".join([header, *good]) + "\n", encoding="utf-8")
    rows = _rows(records)
    assert attach(rows, records, read_targets(path)[1], path) == sum(len(r.stances) for r in records)


@pytest.mark.parametrize("lines, message", [
    ([], "empty file"),
    (['{"format": "something else", "version": 1}'], r"t.jsonl:1: not a soft-target file"),
    (["HEADER", _target_line(topic=1.5)], r"t.jsonl:2: probability must be a number in \[0, 1\], not 1.5"),
    (["HEADER", _target_line(), "{oops"], r"t.jsonl:3: not valid JSON"),
    (["HEADER", _target_line(), _target_line()], r"t.jsonl:3: duplicate id 't-0'"),
    (["HEADER", _target_line(stances={"mars": {s: 0.3 for s in STANCES}})], r"t.jsonl:2: unknown actor 'mars'"),
    (["HEADER", '{"id": "a", "hash": "b", "topics": {}}'], r"t.jsonl:2: missing field"),
])
def test_read_targets_names_file_line_and_problem(tmp_path, lines, message):
    header = json.dumps({"format": "persian-stance soft targets", "version": 1, "teacher": []})
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(header if x == "HEADER" else x for x in lines), encoding="utf-8")
    with pytest.raises(SoftTargetError, match=message):
        read_targets(path)


def test_distill_weight_mixes_the_gold_and_the_teacher_loss(tiny):
    from transformers import AutoModel

    from persian_stance.infer.model import IGNORE, TopicStanceModel

    _, _, encoder_dir = tiny
    torch.manual_seed(0)
    model = TopicStanceModel(AutoModel.from_pretrained(str(encoder_dir)), dropout=0.0).eval()
    B, T, A = 2, 6, len(ACTOR_INDEX)
    batch = {"input_ids": torch.randint(5, 20, (B, T)), "attention_mask": torch.ones(B, T, dtype=torch.long),
             "mention_mask": torch.zeros(B, A, T)}
    batch["mention_mask"][:, 0, 1] = 1
    gold = {"topic_labels": torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0]]),
            "stance_labels": torch.full((B, A), IGNORE).index_fill(1, torch.tensor([0]), 1)}
    other_gold = {"topic_labels": 1 - gold["topic_labels"],
                  "stance_labels": torch.full((B, A), IGNORE).index_fill(1, torch.tensor([0]), 2)}
    soft = {"topic_soft": torch.full((B, len(TOPICS)), 0.3), "stance_soft": torch.zeros(B, A, len(STANCES))}
    soft["stance_soft"][:, 0] = torch.tensor([0.2, 0.7, 0.1])
    other_soft = {"topic_soft": torch.full((B, len(TOPICS)), 0.9), "stance_soft": soft["stance_soft"].flip(-1)}

    def loss(weight, labels, targets=None):
        model.distill_weight = weight
        with torch.no_grad():
            return float(model(**batch, **labels, **(targets or {}))["loss"])

    assert loss(0.0, gold, soft) == pytest.approx(loss(0.0, gold))  # weight 0: the teacher is ignored
    assert loss(0.0, gold, soft) == pytest.approx(loss(0.0, gold, other_soft))
    # weight 1: only the teacher counts, not the gold labels
    assert loss(1.0, gold, soft) == pytest.approx(loss(1.0, other_gold, soft))
    assert loss(1.0, gold, soft) != pytest.approx(loss(1.0, gold, other_soft))
    half = loss(0.5, gold, soft)
    assert half == pytest.approx((loss(0.0, gold, soft) + loss(1.0, gold, soft)) / 2)


@pytest.mark.slow
def test_student_learns_the_teacher_not_the_corrupted_labels(tiny, tiny_checkpoint, tmp_path):
    """With distill_weight 1, a student trained on labels that say nothing (no
    topic, every stance neutral) learns the teacher's topics instead."""
    from persian_stance.train.trainer import train

    root, data, encoder = tiny
    teacher = Predictor.load(tiny_checkpoint, device="cpu")
    targets = write_targets(tmp_path / "targets.jsonl", [str(tiny_checkpoint)],
                            teacher_targets(teacher, load_records([data])))
    blank = write_records(tmp_path / "blank.jsonl",
                          [(t, [], {a: "neutral" for a in stances}) for t, _, stances in TINY_RECORDS])
    config = tiny_config(root, blank, encoder, "lora", tmp_path / "student")
    config.data.dev = [str(data)]
    config.data.soft_targets = str(targets)
    config.training.distill_weight = 1.0
    config.output.work_dir = str(tmp_path / "work")
    student = Predictor.load(train(config, quiet=True), device="cpu")

    from sklearn.metrics import roc_auc_score

    texts = [r[0] for r in TINY_RECORDS]
    taught = np.array([[t in r.topic_labels for t in TOPICS] for r in teacher.predict(texts)])
    learned, _ = student.predict_proba(texts)
    assert taught.any(0).all()  # the teacher finds every topic somewhere
    # The blank labels hold no topic: any ranking of the teacher's topics came from its targets.
    for i, topic in enumerate(TOPICS):
        assert roc_auc_score(taught[:, i], learned[:, i]) >= 0.9, (topic, taught[:, i], learned[:, i])
    assert 'soft_targets = "' in (tmp_path / "student" / "training.toml").read_text(encoding="utf-8")
