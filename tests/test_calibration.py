"""Calibration: temperatures fitted by NLL, a stance prior that moves decisions,
ECE, and the checkpoint config round trip."""
import numpy as np
import pytest

from persian_stance.infer.calibration import Calibration
from persian_stance.train.calibrate import ece, fit_stance_bias, fit_temperature, stance_nll, topic_nll


def test_temperature_recovers_overconfidence():
    rng = np.random.default_rng(0)
    true_logit = rng.normal(0, 2, size=5000)
    y = (rng.random(5000) < 1 / (1 + np.exp(-true_logit))).astype(float)
    t = fit_temperature(lambda t: topic_nll(true_logit * 3.0, y, t))  # logits three times too sure
    assert t == pytest.approx(3.0, rel=0.1)
    z = np.stack([true_logit, np.zeros_like(true_logit), -true_logit], axis=1) * 0.5  # under-confident
    ys = np.array([rng.choice(3, p=np.exp(r) / np.exp(r).sum()) for r in z * 2])
    assert fit_temperature(lambda t: stance_nll(z, ys, t)) == pytest.approx(0.5, rel=0.15)


def test_stance_bias_fixes_a_shifted_prior():
    # neutral is the truth for most, but the model's logits favour "against" by a constant
    rng = np.random.default_rng(1)
    y = rng.choice(3, size=3000, p=[0.15, 0.15, 0.7])
    z = np.eye(3)[y] * 2.0 + rng.normal(0, 1, size=(3000, 3)) + np.array([0.0, 1.5, 0.0])
    from sklearn.metrics import f1_score

    before = f1_score(y, z.argmax(1), average="macro")
    bias = fit_stance_bias(z, y)
    after = f1_score(y, (z + np.array(bias)).argmax(1), average="macro")
    assert bias[1] < -0.5 and bias[2] == 0.0 and after > before + 0.05


def test_ece_of_a_perfectly_calibrated_and_a_bad_model():
    conf = np.repeat(np.linspace(0.05, 0.95, 10), 1000)
    rng = np.random.default_rng(2)
    good = (rng.random(conf.size) < conf).astype(float)
    assert ece(conf, good)[0] < 0.02
    assert ece(conf, np.ones_like(conf))[0] == pytest.approx(1 - conf.mean(), abs=1e-9)


def test_calibration_maths_and_validation():
    cal = Calibration(2.0, 0.5, (0.0, -1.0, 0.0))
    assert cal.topic_probs(np.array([2.0]))[0] == pytest.approx(1 / (1 + np.exp(-1.0)))
    p = cal.stance_probs(np.array([[1.0, 1.0, 0.0]]))[0]
    expected = np.exp([2.0, 1.0, 0.0]) / np.exp([2.0, 1.0, 0.0]).sum()
    assert p == pytest.approx(expected)
    assert Calibration.from_dict(cal.to_dict()) == cal and Calibration.from_dict(None).is_identity
    with pytest.raises(ValueError, match="topic_temperature must be a positive number"):
        Calibration(0.0)
    with pytest.raises(ValueError, match="stance_bias must be 3 finite numbers"):
        Calibration(stance_bias=(0.0, 1.0))


def test_calibration_reaches_the_predictor(tiny_checkpoint, tmp_path):
    """Written into a checkpoint's config, a calibration changes the scores the
    Predictor reports exactly as the maths says; the topic labels stay put when
    the thresholds are carried over."""
    import dataclasses
    import shutil

    from persian_stance.infer.checkpoint import read_config, write_config
    from persian_stance.infer.predictor import Predictor

    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, ckpt)
    sentence = "روسیه تحریم‌های اروپا را غیرقانونی خواند."
    base = Predictor.load(ckpt)
    (tl, sl), = base.logits([base.preparer.prepare(sentence)])
    cal = Calibration(2.0, 3.0, (0.5, 0.0, -0.5))
    write_config(ckpt, dataclasses.replace(read_config(ckpt), calibration=cal))
    tuned = Predictor.load(ckpt)
    topics, stances = tuned.predict_proba(sentence)
    assert topics[0] == pytest.approx(cal.topic_probs(tl), abs=1e-6)
    actor = base.predict(sentence)[0].actors[0].actor
    from persian_stance.infer.features import ACTOR_INDEX

    assert stances[0, ACTOR_INDEX[actor]] == pytest.approx(cal.stance_probs(sl[ACTOR_INDEX[actor]]), abs=1e-6)
