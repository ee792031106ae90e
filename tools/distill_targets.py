"""A teacher's soft targets for distillation (experiment 7 of #11).

    python tools/distill_targets.py --model checkpoints/default runs/exp/layers-s14/model \
        runs/exp/layers-s15/model --data train real-train runs/distill/transfer.jsonl \
        --out runs/distill/targets.jsonl

Loads the checkpoints as one averaged predictor (one checkpoint: itself),
reads the training data the way training reads it (split names or files, the
pool's text joined at load time) and writes, for every record, the teacher's
calibrated topic probabilities and its stance probabilities toward each gold
actor (``train/soft_targets.py`` has the format: ids and hashes, no text). A
config then names the file as ``data.soft_targets``, with the same ``data.train``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main() -> int:
    from persian_stance.infer.ensemble import load_predictor
    from persian_stance.train.corpus import training_data
    from persian_stance.train.records import load_records
    from persian_stance.train.soft_targets import teacher_targets, write_targets

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", nargs="+", required=True, help="teacher checkpoint(s); several are averaged")
    ap.add_argument("--data", nargs="+", required=True, help="the student's data.train entries")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--threads", type=int)
    args = ap.parse_args()

    files = training_data(args.data)
    records = load_records(files)
    load = dict(device="cpu", threads=args.threads)
    teacher = load_predictor(args.model, **load)
    t0 = time.time()
    print(f"teacher of {len(args.model)} checkpoint(s) on {len(records)} records from {len(files)} files",
          file=sys.stderr, flush=True)
    rows = teacher_targets(teacher, records)
    write_targets(args.out, args.model, rows)
    stance = sum(len(r["stances"]) for r in rows)
    gold = sum(len(r.stances) for r in records)
    print(f"wrote {len(rows)} records to {args.out} in {time.time() - t0:.0f} s; stance targets for {stance} of "
          f"{gold} gold mentions (the rest the teacher cannot read: no detected or untruncated mention)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
