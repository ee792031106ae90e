"""``persian-stance detector-report``: how well the gazetteer finds the actors
that annotators labelled.

Counts (sentence, actor) pairs over the whole file: a true positive is an actor
that is both labelled and detected in a sentence. Prints precision, recall and
F1 overall and per actor, then, with ``--errors``, every disagreement.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", type=Path, help="labelled JSON Lines files")
    p.add_argument("--errors", action="store_true", help="list each missed or spurious actor")


def run(args: argparse.Namespace) -> int:
    from persian_stance.infer.actors import ActorDetector
    from persian_stance.infer.labels import ACTORS

    from .metrics import prf
    from .records import load_records

    detector = ActorDetector.default()
    records = load_records(args.files)
    counts = {a: [0, 0, 0] for a in ACTORS}  # tp, fp, fn
    for r in records:
        mentions = detector.detect(r.text)
        pred = {m.actor for m in mentions}
        gold = set(r.stances)
        for a in ACTORS:
            counts[a][0] += a in pred and a in gold
            counts[a][1] += a in pred and a not in gold
            counts[a][2] += a in gold and a not in pred
        if args.errors and pred != gold:
            spurious = [f"{m.actor}:{m.surface}" for m in mentions if m.actor not in gold]
            missed = sorted(gold - pred)
            print(f"{r.path}:{r.line} {r.id} spurious={spurious} missed={missed}")
    tp, fp, fn = (sum(c[i] for c in counts.values()) for i in range(3))
    p, r_, f = prf(tp, fp, fn)
    print(f"records: {len(records)}  actor mentions (gold): {tp + fn}")
    print(f"{'actor':18s} {'P':>6s} {'R':>6s} {'F1':>6s} {'gold':>5s}")
    for a in ACTORS:
        ap, ar, af = prf(*counts[a])
        print(f"{a:18s} {ap:6.3f} {ar:6.3f} {af:6.3f} {counts[a][0] + counts[a][2]:5d}")
    print(f"{'ALL (micro)':18s} {p:6.3f} {r_:6.3f} {f:6.3f} {tp + fn:5d}")
    return 0
