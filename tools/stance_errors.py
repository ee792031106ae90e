"""Where the stance errors of a checkpoint come from, in counts (no text printed).

    python tools/stance_errors.py --model checkpoints/default --data real-dev

Each gold mention is scored with the predictor's stance toward that actor, as
in ``persian-stance evaluate``. Errors are split by kind (neutral read as
favor/against, polar read as neutral, favor/against swapped) and by whether
the sentence holds another actor with a polar gold stance, which is what
target-marked input is meant to separate: a sentence against one actor is
often neutral toward another.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="checkpoints/default")
    ap.add_argument("--data", nargs="+", default=["real-dev"])
    ap.add_argument("--json", type=Path, help="also write the counts here")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from persian_stance.infer.predictor import Predictor
    from persian_stance.train.corpus import resolve_data
    from persian_stance.train.records import load_records

    records = load_records([p for d in args.data for p in resolve_data(d)])
    predictor = Predictor.load(args.model, device="cpu")
    rows = predictor.predict_stances([r.text for r in records], [list(r.stances) for r in records])
    kinds, by_actor, n = Counter(), Counter(), 0
    for r, row in zip(records, rows):
        for actor, gold in r.stances.items():
            n += 1
            pred = row[actor].stance or "(not found)"
            if pred == gold:
                continue
            other_polar = any(s != "neutral" for a, s in r.stances.items() if a != actor)
            if gold == "neutral":
                kind = "neutral read as polar"
            elif pred == "neutral":
                kind = "polar read as neutral"
            elif pred == "(not found)":
                kind = "mention not found"
            else:
                kind = "favor/against swapped"
            kinds[(kind, "another actor polar" if other_polar else "no other polar actor")] += 1
            by_actor[(actor, kind)] += 1
    errors = sum(kinds.values())
    print(f"{n} gold mentions, {errors} errors ({errors / n:.1%})")
    for (kind, ctx), c in sorted(kinds.items(), key=lambda x: -x[1]):
        print(f"  {kind:24s} {ctx:22s} {c:5d}  ({c / errors:.0%} of errors)")
    top = sorted(by_actor.items(), key=lambda x: -x[1])[:8]
    print("most errors by actor and kind: " + "; ".join(f"{a} {k}: {c}" for (a, k), c in top))
    if args.json:
        args.json.write_text(json.dumps({"mentions": n, "errors": errors,
                                         "kinds": [[k, c_, v] for (k, c_), v in kinds.items()]}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
