"""``persian-stance calibrate``: make a checkpoint's scores mean what they say.

Fits, on held-out labelled data (the real-news dev split by default):

- a temperature for the topic logits and one for the stance logits, by
  minimising the negative log-likelihood (temperature scaling);
- with ``--stance-rule prior``, a bias per stance class that maximises stance
  macro-F1 on the same data (a prior correction for the share of neutral
  mentions in real news). This one changes decisions; the temperatures do not.

Topic thresholds are carried over so that the topic labels stay the same.
Reports expected calibration error (ECE, 10 equal-width bins) before and
after, writes a reliability diagram, and stores the calibration in the
checkpoint's ``config.json`` (unless ``--dry-run``)::

    persian-stance calibrate --model runs/real --data real-dev --out docs/reports/calibration
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

BINS = 10


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="checkpoint folder to calibrate")
    p.add_argument("--data", nargs="+", default=["real-dev"], help="held-out labelled data (default: real-dev)")
    p.add_argument("--stance-rule", choices=["argmax", "prior"], default="argmax",
                   help="'prior' also fits a per-class stance bias for macro-F1 (default: argmax, no bias)")
    p.add_argument("--out", type=Path, help="folder for calibration.json, calibration.md and reliability.png")
    p.add_argument("--dry-run", action="store_true", help="report only; leave the checkpoint unchanged")


def run(args: argparse.Namespace) -> int:
    from persian_stance.infer.checkpoint import write_config

    report, config = calibrate(args.model, args.data, args.stance_rule)
    text = render(report)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "calibration.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        (args.out / "calibration.md").write_text(text + "\n", encoding="utf-8")
        reliability_png(report, args.out / "reliability.png")
    if not args.dry_run:
        write_config(args.model, config)
        print(f"calibration written to {Path(args.model) / 'config.json'}")
    return 0


def held_out_logits(predictor, records):
    """Topic logits with truth, and stance logits with the gold stance of every
    gold mention, from a predictor's raw outputs."""
    from persian_stance.infer.features import ACTOR_INDEX
    from persian_stance.infer.labels import STANCES, TOPICS

    prepared = [predictor.preparer.prepare(r.text) for r in records]
    outputs = predictor.logits(prepared)
    topic_z = np.stack([o[0] for o in outputs])
    topic_y = np.array([[t in r.topics for t in TOPICS] for r in records], dtype=float)
    stance_z, stance_y = [], []
    for r, (_, sl) in zip(records, outputs):
        for actor, stance in r.stances.items():
            stance_z.append(sl[ACTOR_INDEX[actor]])
            stance_y.append(STANCES.index(stance))
    return topic_z, topic_y, np.array(stance_z).reshape(-1, len(STANCES)), np.array(stance_y, dtype=int)


def fit_temperature(nll, grid=np.exp(np.linspace(np.log(0.02), np.log(20.0), 600))) -> float:
    """The temperature with the lowest NLL on a fine log-spaced grid (a
    one-parameter fit: a grid is exact enough and cannot diverge)."""
    values = [nll(t) for t in grid]
    return float(grid[int(np.argmin(values))])


def topic_nll(z, y, t):
    # -log sigmoid(x) = log(1 + e^-x), computed without overflow
    x = z / t
    return float(np.mean(y * np.logaddexp(0, -x) + (1 - y) * np.logaddexp(0, x)))


def stance_nll(z, y, t, bias=0.0):
    s = z / t + bias
    s = s - s.max(axis=1, keepdims=True)
    logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    return float(-np.mean(logp[np.arange(len(y)), y]))


def fit_stance_bias(probs_logits, y, step: float = 0.1, span: float = 2.0) -> tuple[float, float, float]:
    """Bias (favor, against, neutral=0) on the scaled stance logits that gives
    the best macro-F1; ties go to the smallest correction."""
    from sklearn.metrics import f1_score

    grid = np.round(np.arange(-span, span + 1e-9, step), 3)
    best = (-1.0, 0.0, (0.0, 0.0, 0.0))
    for bf in grid:
        for ba in grid:
            pred = (probs_logits + np.array([bf, ba, 0.0])).argmax(axis=1)
            f1 = f1_score(y, pred, labels=[0, 1, 2], average="macro", zero_division=0)
            key = (round(f1, 6), -(abs(bf) + abs(ba)))
            if key > best[:2]:
                best = (key[0], key[1], (float(bf), float(ba), 0.0))
    return best[2]


def ece(conf: np.ndarray, correct: np.ndarray, bins: int = BINS) -> tuple[float, list[dict]]:
    """Expected calibration error and the per-bin table of a reliability diagram."""
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    table, total = [], 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            gap = abs(correct[m].mean() - conf[m].mean())
            total += m.mean() * gap
            table.append({"bin": b, "n": int(m.sum()), "confidence": float(conf[m].mean()),
                          "observed": float(correct[m].mean())})
    return float(total), table


def _scores(topic_p, topic_y, stance_p, stance_y) -> dict:
    from sklearn.metrics import f1_score

    t_ece, t_table = ece(topic_p.ravel(), topic_y.ravel())
    pred = stance_p.argmax(axis=1)
    s_ece, s_table = ece(stance_p.max(axis=1), (pred == stance_y).astype(float))
    return {"topic_ece": t_ece, "stance_ece": s_ece, "topic_table": t_table, "stance_table": s_table,
            "stance_macro_f1": float(f1_score(stance_y, pred, labels=[0, 1, 2], average="macro", zero_division=0)),
            "stance_per_class_f1": [float(x) for x in f1_score(stance_y, pred, labels=[0, 1, 2], average=None,
                                                               zero_division=0)]}


def fit_calibration(topic_z, topic_y, stance_z, stance_y, stance_rule: str = "argmax", fitted_on: str | None = None):
    """Temperatures (and with ``prior`` a stance bias) fitted on held-out head
    outputs: topic logits with 0/1 truth, stance logits of gold mentions with
    their class index. Without gold mentions the stance side stays as it is."""
    from persian_stance.infer.calibration import Calibration

    t_t = fit_temperature(lambda t: topic_nll(topic_z, topic_y, t))
    t_s = fit_temperature(lambda t: stance_nll(stance_z, stance_y, t)) if len(stance_y) else 1.0
    prior = stance_rule == "prior" and len(stance_y)
    bias = fit_stance_bias(stance_z / t_s, stance_y) if prior else (0.0, 0.0, 0.0)
    return Calibration(t_t, t_s, bias, fitted_on=fitted_on)


def calibrate(model: str, data: list[str], stance_rule: str = "argmax"):
    from dataclasses import replace

    from persian_stance.infer.calibration import Calibration
    from persian_stance.infer.labels import TOPICS
    from persian_stance.infer.predictor import Predictor

    from .corpus import resolve_data
    from .records import load_records

    records = load_records([p for spec in data for p in resolve_data(spec)])
    predictor = Predictor.load(model)
    old = predictor.config.calibration
    raw = Calibration()
    tz, ty, sz, sy = held_out_logits(predictor, records)
    if not len(sy):
        raise SystemExit(f"{', '.join(data)}: no gold actor mention to calibrate the stance head on")
    new = fit_calibration(tz, ty, sz, sy, stance_rule, fitted_on=", ".join(data))
    # Same topic decisions: p_new >= th' exactly when the old probability reached th.
    old_logit = {t: old.topic_temperature * np.log(th / (1 - th))
                 for t, th in predictor.config.topic_thresholds.items()}
    thresholds = {t: round(float(new.topic_probs(old_logit[t])), 4) for t in TOPICS}
    report = {
        "model": str(model), "data": data, "sentences": len(records), "gold_mentions": int(len(sy)),
        "stance_rule": stance_rule, "calibration": new.to_dict(), "topic_thresholds": thresholds,
        # temperature 1, no bias: the heads' raw probabilities, for a checkpoint
        # that was already calibrated at the end of training ("before" is then "after")
        "uncalibrated": _scores(raw.topic_probs(tz), ty, raw.stance_probs(sz), sy),
        "before": _scores(old.topic_probs(tz), ty, old.stance_probs(sz), sy),
        "after": _scores(new.topic_probs(tz), ty, new.stance_probs(sz), sy),
    }
    config = replace(predictor.config, calibration=new, topic_thresholds=thresholds)
    return report, config


def render(report: dict) -> str:
    u, b, a = report["uncalibrated"], report["before"], report["after"]
    c = report["calibration"]
    return "\n".join([
        f"Calibration of `{report['model']}` on {', '.join(report['data'])} "
        f"({report['sentences']} sentences, {report['gold_mentions']} gold mentions)", "",
        f"topic temperature {c['topic_temperature']:.3f}, stance temperature {c['stance_temperature']:.3f}, "
        f"stance bias {c['stance_bias']} (rule: {report['stance_rule']})", "",
        "| | uncalibrated (temperature 1) | before (the checkpoint as given) | after |", "|---|---|---|---|",
        f"| topic ECE | {u['topic_ece']:.4f} | {b['topic_ece']:.4f} | {a['topic_ece']:.4f} |",
        f"| stance ECE | {u['stance_ece']:.4f} | {b['stance_ece']:.4f} | {a['stance_ece']:.4f} |",
        f"| stance macro-F1 (on this data) | {u['stance_macro_f1']:.3f} | {b['stance_macro_f1']:.3f} | "
        f"{a['stance_macro_f1']:.3f} |",
        "", "ECE: 10 equal-width bins; topics over every (sentence, topic) pair, stance on the top class of "
            "each gold mention. Fitted and measured on the same data: judge the stance rule on other data.",
    ])


def reliability_png(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2))
    for ax, key, title in ((axes[0], "topic_table", "topics (P(topic))"), (axes[1], "stance_table",
                                                                             "stance (top-class confidence)")):
        ax.plot([0, 1], [0, 1], color="#adb5bd", lw=1, label="perfect")
        for when, style in (("uncalibrated", "^:"), ("before", "o--"), ("after", "s-")):
            t = report[when][key]
            ece_key = "topic_ece" if key == "topic_table" else "stance_ece"
            ax.plot([r["confidence"] for r in t], [r["observed"] for r in t], style,
                    label=f"{when} (ECE {report[when][ece_key]:.3f})")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("predicted")
        ax.set_ylabel("observed")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8, frameon=False)
    fig.suptitle(f"Reliability on {', '.join(report['data'])}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
