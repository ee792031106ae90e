"""``persian-stance crossval``: k-fold cross-validation by document on a small labelled set.

A small set -- the 81 seed sentences, or a few hand-labelled articles from a
new outlet -- is a noisy test set on its own, and none at all once it is also
wanted for training. Here its documents are dealt into k folds; for each fold a
model is trained on the config's training data plus the other folds (or on the
other folds only, ``--folds-only``) and scored on the held-out documents,
beside both baselines trained on exactly the same records. The sentences of one
document never sit on both sides, so a model cannot score by remembering its
neighbours. The report gives every fold and mean ± std over the folds.

Each fold is a full training run: with the default config that is about 20
minutes per fold on a 2-core CPU.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

# The position part of an id: "seed-000-s07" -> "seed-000", "a-b01-042" -> "a-b01".
# At most four digits, so that a hash-like id ("d-0138274655") stays whole.
_POSITION = re.compile(r"[-_]s?\d{1,4}$")


def document_of(record_id: str) -> str:
    """The document a sentence id belongs to; an id without a position suffix is its own document."""
    return _POSITION.sub("", record_id) or record_id


def folds_by_document(ids: list[str], k: int) -> list[tuple[list[int], list[int]]]:
    """k (train, held-out) index lists; every document falls wholly on one side of each fold."""
    from sklearn.model_selection import GroupKFold

    groups = [document_of(i) for i in ids]
    n_docs = len(set(groups))
    if k < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    if n_docs < k:
        raise ValueError(f"{k} folds need at least {k} documents; the data has {n_docs}")
    return [(tr.tolist(), te.tolist()) for tr, te in GroupKFold(n_splits=k).split(ids, groups=groups)]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="the small labelled set: a JSON Lines path or 'seeds'")
    p.add_argument("--config", type=Path, help="training config (as for `persian-stance train`)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config value (repeatable)")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--folds-only", action="store_true",
                   help="train on the other folds only, without the config's training data")
    p.add_argument("--no-baselines", action="store_true")
    p.add_argument("--out", type=Path, required=True, help="folder for the fold models and report.md/json")


def run(args: argparse.Namespace) -> int:
    from .config import load_config

    config = load_config(args.config, args.overrides)
    report = crossval(config, args.data, args.out, k=args.folds, folds_only=args.folds_only,
                      baselines=not args.no_baselines)
    print(render_markdown(report))
    return 0


def crossval(config, data: str, out: Path, k: int = 5, folds_only: bool = False, baselines: bool = True) -> dict:
    import copy

    from persian_stance.infer.predictor import Predictor

    from .corpus import resolve_data
    from .evaluate import HEADLINE, aggregate, score_baseline, score_predictor
    from .records import load_records
    from .trainer import train

    records = load_records(resolve_data(data))
    base_train = [] if folds_only else load_records([p for spec in config.data.train for p in resolve_data(spec)])
    out.mkdir(parents=True, exist_ok=True)
    model_runs, baseline_runs, folds = [], {}, []
    for i, (train_idx, test_idx) in enumerate(folds_by_document([r.id for r in records], k)):
        fold_dir = out / f"fold-{i + 1}"
        fold_dir.mkdir(parents=True, exist_ok=True)
        fold_train = fold_dir / "train.jsonl"
        with open(fold_train, "w", encoding="utf-8") as f:
            for j in train_idx:
                f.write(json.dumps(records[j].to_json(), ensure_ascii=False) + "\n")
        held_out = [records[j] for j in test_idx]

        cfg = copy.deepcopy(config)
        cfg.data.train = ([] if folds_only else list(config.data.train)) + [str(fold_train)]
        cfg.output.dir = str(fold_dir / "model")
        cfg.output.work_dir = str(fold_dir / "work")
        checkpoint = train(cfg, command=f"persian-stance crossval (fold {i + 1} of {k})", quiet=True)
        model_runs.append(score_predictor(Predictor.load(checkpoint), held_out))
        folds.append({"fold": i + 1, "held_out_documents": sorted({document_of(r.id) for r in held_out}),
                      "held_out_records": len(held_out), "train_records": len(base_train) + len(train_idx)})
        if baselines:
            from .baselines import BASELINES

            fit_on = base_train + [records[j] for j in train_idx]
            for cls in BASELINES.values():
                b = cls().fit(fit_on)
                baseline_runs.setdefault(b.name, []).append(score_baseline(b, held_out))

    report = {
        "data": data, "records": len(records), "k": k, "folds_only": folds_only, "folds": folds,
        "model": aggregate(model_runs), "model_runs": [{m: r[m] for m in HEADLINE} for r in model_runs],
        "baselines": {name: aggregate(runs) for name, runs in baseline_runs.items()},
    }
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out / "report.md").write_text(render_markdown(report), encoding="utf-8")
    return report


def render_markdown(report: dict) -> str:
    from .evaluate import HEADLINE, _fmt

    extra = "the other folds only" if report["folds_only"] else "the config's training data plus the other folds"
    lines = [f"# {report['k']}-fold cross-validation by document on {report['data']} ({report['records']} sentences)",
             "", f"Each fold's model and baselines are trained on {extra} and scored on the held-out documents; "
                 "figures are mean ± std over the folds.", "",
             "| system | topic macro-F1 | topic micro-F1 | stance macro-F1 | actor F1 | (actor, stance) F1 |",
             "|---|---|---|---|---|---|",
             "| model | " + " | ".join(_fmt(report["model"][m]) for m in HEADLINE) + " |"]
    for name, agg in report["baselines"].items():
        lines.append(f"| {name} | " + " | ".join(_fmt(agg[m]) for m in HEADLINE) + " |")
    lines += ["", "| fold | held-out documents | held-out sentences | training sentences | model topic macro-F1 "
                  "| model stance macro-F1 |", "|---|---|---|---|---|---|"]
    for f, r in zip(report["folds"], report["model_runs"]):
        lines.append(f"| {f['fold']} | {', '.join(f['held_out_documents'])} | {f['held_out_records']} | "
                     f"{f['train_records']} | {r['topic_macro_f1']:.3f} | {r['stance_macro_f1']:.3f} |")
    return "\n".join(lines) + "\n"
