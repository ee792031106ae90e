"""EnsemblePredictor: the members' calibrated probabilities, averaged."""
import dataclasses

import numpy as np
import pytest

from persian_stance.infer.ensemble import EnsemblePredictor
from persian_stance.infer.errors import SettingError
from persian_stance.infer.predictor import Predictor

from conftest import TINY_RECORDS as RECORDS


def test_ensemble_averages_member_probabilities(tiny_checkpoint, monkeypatch):
    a, b = Predictor.load(tiny_checkpoint, device="cpu"), Predictor.load(tiny_checkpoint, device="cpu")
    texts = [r[0] for r in RECORDS[:4]]
    topics_a, stances_a = a.predict_proba(texts)
    shifted = lambda prepared, on_batch=None: [(np.clip(t + 0.2, 0, 1), s * 0.5)  # noqa: E731
                                              for t, s in Predictor._forward(a, prepared)]
    monkeypatch.setattr(b, "_forward", shifted)
    topics_e, stances_e = EnsemblePredictor([a, b]).predict_proba(texts)
    np.testing.assert_allclose(topics_e, (topics_a + np.clip(topics_a + 0.2, 0, 1)) / 2, atol=1e-6)
    np.testing.assert_allclose(stances_e, stances_a * 0.75, atol=1e-6, equal_nan=True)


def test_ensemble_refuses_members_that_read_different_tokens(tiny_checkpoint):
    a, b = Predictor.load(tiny_checkpoint, device="cpu"), Predictor.load(tiny_checkpoint, device="cpu")
    b.config = dataclasses.replace(b.config, zwnj="marker" if a.config.zwnj != "marker" else "space")
    with pytest.raises(SettingError, match="must share"):
        EnsemblePredictor([a, b])
    with pytest.raises(SettingError, match="at least one"):
        EnsemblePredictor([])


def test_evaluate_scores_an_ensemble_as_one_model(tiny_checkpoint, tmp_path):
    import json

    from persian_stance.train.evaluate import evaluate

    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps({"id": f"r{i}", "text": t, "topics": topics, "stances": stances},
                                       ensure_ascii=False) + "\n"
                            for i, (t, topics, stances) in enumerate(RECORDS)), encoding="utf-8")
    seeds = evaluate([str(tiny_checkpoint)] * 2, [str(data)], tmp_path / "seeds", baselines=False)
    together = evaluate([str(tiny_checkpoint)] * 2, [str(data)], tmp_path / "ensemble", baselines=False,
                        ensemble=True)
    [runs] = [d["model_runs"] for d in together["datasets"].values()]
    [seed_runs] = [d["model_runs"] for d in seeds["datasets"].values()]
    assert len(runs) == 1 and len(seed_runs) == 2
    # two identical members average to the member itself
    assert runs[0]["stance_macro_f1"] == seed_runs[0]["stance_macro_f1"]
    assert runs[0]["topic_macro_f1"] == seed_runs[0]["topic_macro_f1"]
    assert "scored as one ensemble" in (tmp_path / "ensemble" / "report.md").read_text(encoding="utf-8")


def test_load_predictor_gives_one_model_alone_and_several_averaged(tiny_checkpoint):
    from persian_stance.infer.ensemble import load_predictor

    one = load_predictor([tiny_checkpoint], device="cpu")
    two = load_predictor([tiny_checkpoint, tiny_checkpoint], device="cpu")
    assert type(one) is Predictor
    assert isinstance(two, EnsemblePredictor) and len(two.members) == 2
