"""train/metrics.py on hand-made cases, against scikit-learn and hand counts."""
import numpy as np
import pytest
from sklearn.metrics import f1_score

from persian_stance.train.metrics import prf, set_scores, stance_scores, topic_scores

# 6 sentences × 4 topics (syria, karabakh, sanctions, covid)
TRUE = np.array([[1, 0, 0, 0], [1, 0, 1, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [1, 0, 0, 1]])
PRED = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0], [1, 0, 0, 0]])


def test_prf_by_hand():
    assert prf(3, 1, 2) == pytest.approx((0.75, 0.6, 2 * 0.75 * 0.6 / 1.35))
    assert prf(0, 0, 0) == (0.0, 0.0, 0.0)


def test_topic_scores():
    s = topic_scores(TRUE, PRED)
    # syria: tp 2 (rows 0, 5), fp 1 (row 4), fn 1 (row 1) → F1 2/3
    assert s["per_topic"]["syria"] == {"precision": pytest.approx(2 / 3), "recall": pytest.approx(2 / 3),
                                       "f1": pytest.approx(2 / 3), "support": 3}
    # karabakh: never gold, predicted once → 0; sanctions: 2/2 → 1; covid: tp 1, fn 1 → 2/3
    assert [s["per_topic"][t]["f1"] for t in ("karabakh", "sanctions", "covid")] == pytest.approx([0, 1, 2 / 3])
    assert s["macro_f1"] == pytest.approx((2 / 3 + 0 + 1 + 2 / 3) / 4)
    assert s["macro_f1"] == pytest.approx(f1_score(TRUE, PRED, average="macro", zero_division=0))
    # micro: tp 5, fp 2, fn 2
    assert s["micro_f1"] == pytest.approx(5 / 7)
    assert s["micro_f1"] == pytest.approx(f1_score(TRUE, PRED, average="micro", zero_division=0))


def test_stance_scores():
    gold = ["favor", "against", "neutral", "neutral", "against", "favor"]
    pred = ["favor", "neutral", "neutral", "against", "against", "neutral"]
    actors = ["iran", "iran", "usa", "usa", "usa", "russia"]
    s = stance_scores(gold, pred, actors)
    # favor: tp 1, fn 1 → 2/3; against: tp 1, fp 1, fn 1 → 1/2; neutral: tp 1, fp 2, fn 1 → 2/5
    assert s["per_class_f1"] == pytest.approx({"favor": 2 / 3, "against": 0.5, "neutral": 0.4})
    assert s["macro_f1"] == pytest.approx((2 / 3 + 0.5 + 0.4) / 3)
    assert s["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro"))
    assert s["accuracy"] == pytest.approx(3 / 6)
    assert s["confusion"] == [[1, 0, 1], [0, 1, 1], [0, 1, 1]]
    # iran: classes seen are favor, against, neutral (neutral predicted) → (1 + 0 + 0) / 3
    assert s["per_actor"]["iran"]["macro_f1"] == pytest.approx(1 / 3)
    # russia: favor (gold) and neutral (predicted), both 0
    assert s["per_actor"]["russia"] == {"n": 1, "macro_f1": 0.0,
                                        "gold_counts": {"favor": 1, "against": 0, "neutral": 0}}
    assert "europe" not in s["per_actor"]


def test_set_scores():
    gold = [{"iran", "usa"}, {"russia"}, set()]
    pred = [{"iran"}, {"russia", "turkey"}, {"israel"}]
    s = set_scores(gold, pred)
    assert (s["tp"], s["fp"], s["fn"]) == (2, 2, 1)
    assert s["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
