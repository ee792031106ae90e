"""Turn the annotators' label files into the repository's real-news data.

Inputs (outside the repository, since task files carry pool text):
- ``--first DIR``: the first labels, ``{"id", "topics", "stances"}`` per line;
- ``--second DIR``: the blind second labels of the agreement sample, same format.

Writes, from ``data/realnews/selection/references.jsonl`` (the references and the split
of each article) and ``data/realnews/qa/adjudication.tsv`` (decisions on the
disagreements, applied over the first labels where present):

- ``data/realnews/{train,dev,test}.jsonl``: references plus labels;
- ``data/realnews/train-round3.jsonl``: the third round's sentences (reasons
  ``round3:*``, all in train), kept apart so that ``real-train`` still names
  the data every earlier experiment trained on;
- ``data/realnews/qa/second-labels.jsonl`` (rounds 1 and 2) and
  ``second-labels-round3.jsonl``: the second labels, as references.

No text is written: the loader joins it from the pool.

    python tools/build_real_labels.py --first /tmp/rn-labels --second /tmp/rn-blind
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from persian_stance.infer.jsonl import iter_objects
from persian_stance.infer.labels import ACTORS, STANCES, TOPICS
from persian_stance.train.realnews import REPO_DIR

REAL = REPO_DIR / "data" / "realnews"
SELECTION = REAL / "selection" / "references.jsonl"
ADJUDICATION = REAL / "qa" / "adjudication.tsv"


def checked_labels(r: dict, where: str) -> dict:
    """A record's topics and stances in the guideline's fixed order; anything
    outside the label inventory stops the build (never dropped silently)."""
    bad = [t for t in r["topics"] if t not in TOPICS] + \
          [f"{a}={s}" for a, s in r["stances"].items() if a not in ACTORS or s not in STANCES]
    if bad:
        raise SystemExit(f"{where}: unknown labels {bad}")
    return {"topics": [t for t in TOPICS if t in r["topics"]],
            "stances": {a: r["stances"][a] for a in ACTORS if a in r["stances"]}}


def read_labels(folder: Path) -> dict[str, dict]:
    labels = {}
    for path in sorted(folder.glob("*.jsonl")):
        for n, r in iter_objects(path):
            if r["id"] in labels:
                raise SystemExit(f"{path}:{n}: id {r['id']} labelled twice")
            labels[r["id"]] = checked_labels(r, f"{path}:{n}")
    return labels


def read_adjudication(path: Path) -> dict[str, dict]:
    """id → the adjudicated labels (topics and stances as decided)."""
    if not path.is_file():
        return {}
    out = {}
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            out[row["id"]] = {"topics": json.loads(row["decided_topics"]),
                              "stances": json.loads(row["decided_stances"])}
    return out


def record(ref: dict, labels: dict) -> dict:
    return {"id": ref["id"], "article": ref["article"], "start": ref["start"], "end": ref["end"],
            "hash": ref["hash"], "topics": labels["topics"], "stances": labels["stances"], "source": "realnews"}


def output_file(ref: dict) -> str:
    """Which file of ``data/realnews/`` a reference's record goes to."""
    if any(r.startswith("round3:") for r in ref["reasons"]):
        if ref["split"] != "train":
            raise SystemExit(f"{SELECTION}: {ref['id']} is a round-3 sentence outside train")
        return "train-round3"
    return ref["split"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--first", type=Path, required=True)
    ap.add_argument("--second", type=Path)
    args = ap.parse_args()

    refs = [r for _, r in iter_objects(SELECTION)]
    first = read_labels(args.first)
    decided = read_adjudication(ADJUDICATION)
    unknown = sorted(set(first) - {r["id"] for r in refs})
    if unknown:
        raise SystemExit(f"labels for ids not in {SELECTION}: {unknown[:5]}")
    out = {s: [] for s in ("train", "dev", "test", "train-round3")}
    unlabelled = 0
    for ref in refs:
        if ref["id"] not in first:
            unlabelled += 1
            continue
        out[output_file(ref)].append(record(ref, decided.get(ref["id"], first[ref["id"]])))
    for split, rows in out.items():
        with open(REAL / f"{split}.jsonl", "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        print(f"{split}: {len(rows)} sentences from {len({r['article'] for r in rows})} articles")
    print(f"not labelled (left out): {unlabelled}; adjudicated: {len(set(decided) & set(first))}")
    if args.second:
        second = read_labels(args.second)
        # One file per labelling round, so that each round's agreement is measured on its own.
        for name, is_round3 in (("second-labels", False), ("second-labels-round3", True)):
            rows = [record(ref, second[ref["id"]]) for ref in refs
                    if ref["id"] in second and (output_file(ref) == "train-round3") == is_round3]
            with open(REAL / "qa" / f"{name}.jsonl", "w", encoding="utf-8") as f:
                f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
            print(f"{name}: {len(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
