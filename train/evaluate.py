"""``persian-stance evaluate``: score checkpoints and baselines on labelled files.

Writes ``report.md``, ``report.json`` and confusion matrices (PNG) to ``--out``.
Every metric is computed over the whole dataset at once:

- topics: per-topic precision/recall/F1 (checkpoint thresholds), macro and micro F1;
- stance: macro-F1 over favor/against/neutral on the **gold** actor mentions (one the
  detector does not find gets no stance, so it counts as a miss),
  overall and per actor;
- actor mentions: precision/recall/F1 of the per-sentence actor sets;
- end to end: F1 of the per-sentence (actor, stance) pairs the system outputs.

Several checkpoints (trained with different seeds) give mean ± standard
deviation. The baselines are trained on the data the first checkpoint was
trained on (its ``training.toml``) and read text prepared with its normaliser
settings. ``--name-swap`` adds the name-swap stance test (``train/name_swap.py``).
"""
from __future__ import annotations

import argparse
import json
import statistics
import tomllib
from pathlib import Path

NOT_FOUND = "(not found)"
"""The prediction recorded for a gold mention the predictor found no mention of:
outside the stance classes, so it scores as a miss of the gold class."""
HEADLINE = ("topic_macro_f1", "topic_micro_f1", "stance_macro_f1", "actor_f1", "pair_f1")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", nargs="+", required=True, help="checkpoint folder(s); several = several seeds")
    p.add_argument("--data", nargs="+", required=True,
                   help="labelled files to score: a path, a split name (train/dev/test) or 'seeds'")
    p.add_argument("--out", type=Path, required=True, help="folder for report.md, report.json and PNGs")
    p.add_argument("--no-baselines", action="store_true", help="skip the keyword and TF-IDF baselines")
    p.add_argument("--name-swap", nargs="*", default=None, metavar="DATA",
                   help="run the name-swap stance test on these data (default: the first --data)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--ensemble", action="store_true",
                   help="score the checkpoints as one model, their probabilities averaged (infer/ensemble.py), "
                        "instead of each on its own")


def run(args: argparse.Namespace) -> int:
    report = evaluate(args.model, args.data, args.out, baselines=not args.no_baselines,
                      name_swap_data=args.name_swap, batch_size=args.batch_size, ensemble=args.ensemble)
    print((args.out / "report.md").read_text(encoding="utf-8"))
    return 0 if report else 1


def _dataset_name(spec: str) -> str:
    from .corpus import REAL_SPLITS, SPLIT_NAMES

    if spec in (*SPLIT_NAMES, *REAL_SPLITS, "seeds"):
        return spec
    # ../shared/realnews/dev.jsonl must not read as the authored "dev" split
    path = Path(spec)
    return f"{path.parent.name}-{path.stem}" if path.parent.name else path.stem


def evaluate(models: list[str], data: list[str], out: Path, baselines: bool = True,
             name_swap_data: list[str] | None = None, batch_size: int = 32, ensemble: bool = False) -> dict:
    """Score ``models`` (each a seed, or with ``ensemble`` together as one
    averaged predictor) and the baselines on ``data``; writes the report to ``out``."""
    from persian_stance.infer.ensemble import EnsemblePredictor
    from persian_stance.infer.predictor import Predictor

    from .corpus import resolve_data
    from .records import load_records

    out.mkdir(parents=True, exist_ok=True)
    datasets = {_dataset_name(spec): load_records(resolve_data(spec)) for spec in data}
    if ensemble:
        predictors = [EnsemblePredictor.load_all(models, batch_size=batch_size)]
    else:
        predictors = [Predictor.load(m, batch_size=batch_size) for m in models]
    report: dict = {"models": [str(m) for m in models], "ensemble": ensemble, "datasets": {}}

    trained_baselines = {}
    if baselines:
        from persian_stance.infer.prepare import Preparer

        from .baselines import BASELINES

        train_records = _training_records(models[0])
        report["baseline_training_records"] = len(train_records)
        text_only = Preparer(predictors[0].config.normalizer)
        for key, cls in BASELINES.items():
            trained_baselines[key] = cls(preparer=text_only).fit(train_records)

    for name, records in datasets.items():
        entry: dict = {"records": len(records), "gold_mentions": sum(len(r.stances) for r in records)}
        runs = [score_predictor(p, records) for p in predictors]
        entry["model_runs"] = runs
        entry["model"] = aggregate(runs)
        entry["baselines"] = {b.name: score_baseline(b, records) for b in trained_baselines.values()}
        plot_confusions(runs[0], out / f"{name}-confusion.png", f"{name} (first checkpoint)")
        entry["confusion_png"] = f"{name}-confusion.png"
        report["datasets"][name] = entry

    if name_swap_data is not None:
        from .name_swap import name_swap_test

        specs = name_swap_data or data[:1]
        report["name_swap"] = {}
        for spec in specs:
            records = load_records(resolve_data(spec))
            report["name_swap"][_dataset_name(spec)] = [name_swap_test(p, records) for p in predictors]

    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out / "report.md").write_text(render_markdown(report), encoding="utf-8")
    return report


def _training_records(model: str):
    from .corpus import resolve_data
    from .records import load_records

    cfg_file = Path(model) / "training.toml"
    if not cfg_file.is_file():
        raise SystemExit(f"{model}: no training.toml, so the baselines cannot be trained on the same data")
    with open(cfg_file, "rb") as f:
        cfg = tomllib.load(f)
    return load_records([p for spec in cfg["data"]["train"] for p in resolve_data(spec)])


def score(records, topic_pred, stance_on_gold: list[dict[str, str]], actor_sets: list[set],
          pair_sets: list[set]) -> dict:
    from persian_stance.infer.labels import TOPICS

    from .metrics import set_scores, stance_scores, topic_scores

    truth = [[int(t in r.topics) for t in TOPICS] for r in records]
    topics = topic_scores(truth, topic_pred)
    gold, pred, actors = [], [], []
    for r, row in zip(records, stance_on_gold):
        for a, s in r.stances.items():
            gold.append(s)
            pred.append(row[a])
            actors.append(a)
    stance = stance_scores(gold, pred, actors)
    actor = set_scores([set(r.stances) for r in records], actor_sets)
    pair = set_scores([set(r.stances.items()) for r in records], pair_sets)
    return {
        "topic_macro_f1": topics["macro_f1"], "topic_micro_f1": topics["micro_f1"],
        "stance_macro_f1": stance["macro_f1"], "actor_f1": actor["f1"], "pair_f1": pair["f1"],
        "topics": topics, "stance": stance, "actors": actor, "pairs": pair,
    }


def score_predictor(predictor, records) -> dict:
    import numpy as np

    from persian_stance.infer.labels import TOPICS

    texts = [r.text for r in records]
    results = predictor.predict(texts)
    topic_pred = np.array([[int(t in res.topic_labels) for t in TOPICS] for res in results])
    on_gold = predictor.predict_stances(texts, [list(r.stances) for r in records])
    # A gold mention the detector does not find gets no stance from the
    # predictor; it counts as a miss, as it would for a user.
    stance_on_gold = [{a: st.stance or NOT_FOUND for a, st in row.items()} for row in on_gold]
    actor_sets = [{a.actor for a in res.actors} for res in results]
    pair_sets = [{(a.actor, a.stance) for a in res.actors} for res in results]
    return score(records, topic_pred, stance_on_gold, actor_sets, pair_sets)


def score_baseline(baseline, records) -> dict:
    texts = [r.text for r in records]
    topic_pred = baseline.predict_topics(texts)
    stance_on_gold = baseline.predict_stances(texts, [list(r.stances) for r in records])
    detected = baseline.actors(texts)
    pairs = baseline.predict_stances(texts, detected)
    return score(records, topic_pred, stance_on_gold, [set(d) for d in detected],
                 [set(p.items()) for p in pairs])


def aggregate(runs: list[dict]) -> dict:
    """Mean and standard deviation over runs of each headline metric, per-topic
    F1 and per-actor stance F1."""
    def ms(values):
        values = list(values)
        return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
                "n": len(values)}

    out = {k: ms(r[k] for r in runs) for k in HEADLINE}
    out["per_topic_f1"] = {t: ms(r["topics"]["per_topic"][t]["f1"] for r in runs)
                           for t in runs[0]["topics"]["per_topic"]}
    actors = set.intersection(*(set(r["stance"]["per_actor"]) for r in runs)) if runs else set()
    out["per_actor_stance_f1"] = {a: ms(r["stance"]["per_actor"][a]["macro_f1"] for r in runs)
                                  for a in runs[0]["stance"]["per_actor"] if a in actors}
    return out


def plot_confusions(run: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from persian_stance.infer.labels import STANCES, TOPICS

    fig, axes = plt.subplots(1, 1 + len(TOPICS), figsize=(4 + 2.6 * len(TOPICS), 3.6))
    cm = np.array(run["stance"]["confusion"]) if run["stance"]["confusion"] else np.zeros((3, 3), int)
    _matrix(axes[0], cm, STANCES, "stance (gold mentions)")
    for ax, t in zip(axes[1:], TOPICS):
        pt = run["topics"]["per_topic"][t]
        tp = round(pt["recall"] * pt["support"])
        fn = pt["support"] - tp
        fp = round(tp / pt["precision"] - tp) if pt["precision"] else 0
        _matrix(ax, np.array([[tp, fn], [fp, -1]]), ["yes", "no"], f"topic: {t}")
    fig.suptitle(f"{title} — rows: gold, columns: predicted")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _matrix(ax, cm, labels, title):
    import numpy as np

    ax.imshow(np.where(cm < 0, 0, cm), cmap="Blues")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, "·" if cm[i, j] < 0 else str(cm[i, j]), ha="center", va="center")
    ax.set_title(title, fontsize=9)


def _fmt(m: dict) -> str:
    return f"{m['mean']:.3f} ± {m['std']:.3f}" if m.get("n", 1) > 1 else f"{m['mean']:.3f}"


def render_markdown(report: dict) -> str:
    from persian_stance.infer.labels import TOPICS

    lines = ["# Evaluation report", "",
             f"Checkpoints ({len(report['models'])}): " + ", ".join(f"`{m}`" for m in report["models"])
             + (", scored as one ensemble (their probabilities averaged)" if report.get("ensemble") else ""), ""]
    if "baseline_training_records" in report:
        lines += [f"Baselines trained on the same {report['baseline_training_records']} training records.", ""]
    lines += ["Metrics over the whole dataset; the model row is mean ± std over the checkpoints. "
              "Stance macro-F1 is on gold actor mentions; actor F1 compares per-sentence actor sets; "
              "pair F1 compares per-sentence (actor, stance) pairs end to end.", ""]
    for name, entry in report["datasets"].items():
        lines += [f"## {name} ({entry['records']} sentences, {entry['gold_mentions']} gold actor mentions)", "",
                  "| system | topic macro-F1 | topic micro-F1 | stance macro-F1 | actor F1 | (actor, stance) F1 |",
                  "|---|---|---|---|---|---|"]
        m = entry["model"]
        lines.append("| model | " + " | ".join(_fmt(m[k]) for k in HEADLINE) + " |")
        for bname, b in entry["baselines"].items():
            lines.append(f"| {bname} | " + " | ".join(f"{b[k]:.3f}" for k in HEADLINE) + " |")
        lines += ["", "Per topic (model F1): " + ", ".join(f"{t} {_fmt(m['per_topic_f1'][t])} "
                                                           f"(n={entry['model_runs'][0]['topics']['per_topic'][t]['support']})"
                                                           for t in TOPICS), ""]
        lines += ["Per actor (model stance macro-F1): " + ", ".join(
            f"{a} {_fmt(v)} (n={entry['model_runs'][0]['stance']['per_actor'][a]['n']})"
            for a, v in m["per_actor_stance_f1"].items()), ""]
        lines += [f"![confusion matrices]({entry['confusion_png']})", ""]
    if "name_swap" in report:
        lines += ["## Name-swap stance test", "",
                  "An actor's plain country name is replaced by another actor's; the text around it is unchanged. "
                  "`follows text` is the share of swapped mentions whose predicted stance equals the prediction "
                  "for the original name (the stance follows the words, not the name).", "",
                  "| data | checkpoint | swapped mentions | follows text | accuracy before | accuracy after |",
                  "|---|---|---|---|---|---|"]
        for name, runs in report["name_swap"].items():
            for i, t in enumerate(runs):
                lines.append(f"| {name} | {i + 1} | {t['n']} | {t['follows_text']:.3f} | "
                             f"{t['accuracy_before']:.3f} | {t['accuracy_after']:.3f} |")
        lines.append("")
    return "\n".join(lines)
