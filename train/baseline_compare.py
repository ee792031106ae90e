"""``persian-stance baselines``: what each training set is worth, before any model.

Trains the TF-IDF + logistic regression baseline (and, with ``--keyword``, the
keyword rules) once per ``--train`` set and scores every model on every
``--data`` set, with the same metrics as ``persian-stance evaluate``. A
``--train`` value joins data arguments with ``+``::

    persian-stance baselines --train train --train real-train --train train+real-train \\
        --data real-test ../shared/realnews/dev.jsonl --out docs/reports/real-data-value
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

COLUMNS = ("topic_macro_f1", "stance_macro_f1", "actor_f1", "pair_f1")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--train", action="append", required=True, metavar="DATA[+DATA…]",
                   help="training set: data arguments joined with '+' (repeat for several sets)")
    p.add_argument("--data", nargs="+", required=True, help="labelled data to score on (as for evaluate)")
    p.add_argument("--out", type=Path, help="folder for report.md and report.json")
    p.add_argument("--keyword", action="store_true", help="also train the keyword rules")


def run(args: argparse.Namespace) -> int:
    report = compare(args.train, args.data, keyword=args.keyword)
    text = render(report)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n",
                                              encoding="utf-8")
        (args.out / "report.md").write_text(text + "\n", encoding="utf-8")
    return 0


def compare(train_sets: list[str], data: list[str], keyword: bool = False) -> dict:
    from .baselines import KeywordRules, TfidfLogReg
    from .corpus import resolve_data
    from .evaluate import _dataset_name, score_baseline
    from .records import load_records

    evaluation = {_dataset_name(spec): load_records(resolve_data(spec)) for spec in data}
    report: dict = {"data": {k: len(v) for k, v in evaluation.items()}, "rows": []}
    for spec in train_sets:
        records = load_records([p for part in spec.split("+") for p in resolve_data(part)])
        systems = [TfidfLogReg()] + ([KeywordRules()] if keyword else [])
        for system in systems:
            system.fit(records)
            scores = {name: {k: score_baseline(system, recs)[k] for k in COLUMNS} for name, recs in evaluation.items()}
            report["rows"].append({"train": spec, "train_records": len(records), "system": system.name,
                                   "scores": scores})
    return report


def render(report: dict) -> str:
    names = list(report["data"])
    head = "| trained on | records | system | " + " | ".join(
        f"{n}: topic | {n}: stance" for n in names) + " |"
    lines = [f"Scored on: " + ", ".join(f"{n} ({c} sentences)" for n, c in report["data"].items()), "",
             head, "|" + "---|" * (3 + 2 * len(names))]
    for row in report["rows"]:
        cells = " | ".join(f"{row['scores'][n]['topic_macro_f1']:.3f} | {row['scores'][n]['stance_macro_f1']:.3f}"
                           for n in names)
        lines.append(f"| {row['train']} | {row['train_records']} | {row['system']} | {cells} |")
    lines += ["", "Topic: macro-F1 over the four topics; stance: macro-F1 over favor/against/neutral on gold mentions."]
    return "\n".join(lines)
