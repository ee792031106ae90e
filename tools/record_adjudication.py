"""Record adjudication decisions as ``data/realnews/qa/adjudication.tsv``.

Inputs are the adjudicators' files (outside the repository):
``{"id", "topics", "stances", "reason"}`` per line, for
- ``--disagreements``: sentences where the first and the blind second labels differ;
- ``--review``: first labels flagged by a check (the gazetteer disagrees with the
  labelled actors, or INSTEX without the sanctions topic).

Every decision is written, changed or not, with the labels before it, so the
log shows what adjudication did. ``tools/build_real_labels.py`` applies it.

    python tools/record_adjudication.py --first /tmp/rn-labels --second /tmp/rn-blind \\
        --disagreements /tmp/rn-adj/out-disagreements.jsonl --review /tmp/rn-adj/out-review*.jsonl
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from build_real_labels import ADJUDICATION, checked_labels, read_labels

from persian_stance.infer.jsonl import iter_objects

COLUMNS = ["id", "kind", "first_topics", "first_stances", "second_topics", "second_stances",
           "decided_topics", "decided_stances", "changed", "reason"]


def _decisions(paths: list[Path], kind: str) -> list[tuple[str, dict]]:
    out = []
    for path in paths:
        for n, r in iter_objects(path):
            if not r.get("reason"):
                raise SystemExit(f"{path}:{n}: a decision needs a reason")
            out.append((kind, {**r, **checked_labels(r, f"{path}:{n}")}))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--first", type=Path, required=True)
    ap.add_argument("--second", type=Path, required=True)
    ap.add_argument("--disagreements", type=Path, nargs="*", default=[])
    ap.add_argument("--review", type=Path, nargs="*", default=[])
    args = ap.parse_args()

    first, second = read_labels(args.first), read_labels(args.second)
    rows, seen = [], {}
    for kind, d in _decisions(args.disagreements, "disagreement") + _decisions(args.review, "review"):
        label = (sorted(d["topics"]), sorted(d["stances"].items()))
        if d["id"] in seen:
            # a sentence both reviewed and doubly labelled: the two decisions must agree
            if seen[d["id"]] != label:
                raise SystemExit(f"{d['id']} decided twice, differently")
            continue
        seen[d["id"]] = label
        before = first[d["id"]]
        decided = {"topics": d["topics"], "stances": d["stances"]}
        other = second.get(d["id"], {"topics": "", "stances": ""})
        rows.append({"id": d["id"], "kind": kind,
                     "first_topics": json.dumps(before["topics"]), "first_stances": json.dumps(before["stances"]),
                     "second_topics": json.dumps(other["topics"]) if other["topics"] != "" else "",
                     "second_stances": json.dumps(other["stances"]) if other["stances"] != "" else "",
                     "decided_topics": json.dumps(decided["topics"]), "decided_stances": json.dumps(decided["stances"]),
                     "changed": "yes" if decided != before else "no", "reason": d["reason"].replace("\t", " ")})
    ADJUDICATION.parent.mkdir(parents=True, exist_ok=True)
    with open(ADJUDICATION, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, COLUMNS, delimiter="\t", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    changed = sum(r["changed"] == "yes" for r in rows)
    print(f"{len(rows)} decisions ({changed} changed the first labels) -> {ADJUDICATION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
