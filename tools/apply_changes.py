"""Apply label changes from review/adjudication TSV files to the corpus.

    python tools/apply_changes.py data/authored/qa/review-*.tsv

Each TSV line is ``id  field  old  new  reason`` (field: topics or stances; old
and new: the whole JSON value). A change is applied only if the record's
current value equals ``old``; otherwise it is reported as a conflict and
skipped. ``flag`` lines are printed, not applied. Batches are rewritten in
place, keeping line order.
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AUTHORED = ROOT / "data" / "authored"


def main(paths: list[str]) -> int:
    changes = []
    for p in paths:
        for n, line in enumerate(Path(p).read_text(encoding="utf-8").splitlines(), 1):
            if n == 1 or not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) < 4:
                print(f"{p}:{n}: malformed line", file=sys.stderr)
                return 1
            changes.append((p, n, parts[0], parts[1], parts[2], parts[3], parts[4] if len(parts) > 4 else ""))
    files = {}
    index = {}
    for f in sorted(AUTHORED.glob("b*.jsonl")):
        recs = [json.loads(l) for l in f.read_text(encoding="utf-8").splitlines() if l.strip()]
        files[f] = recs
        for r in recs:
            index[r["id"]] = r
    applied = conflicts = flags = 0
    for p, n, rid, field, old, new, reason in changes:
        if field == "flag":
            flags += 1
            print(f"FLAG {rid}: {old} {new} {reason}")
            continue
        rec = index.get(rid)
        if rec is None or field not in ("topics", "stances"):
            print(f"{p}:{n}: unknown id or field {rid} {field}", file=sys.stderr)
            conflicts += 1
            continue
        if rec[field] != json.loads(old):
            if rec[field] == json.loads(new):
                continue  # already applied
            print(f"CONFLICT {p}:{n} {rid} {field}: current {json.dumps(rec[field], ensure_ascii=False)} "
                  f"!= old {old}", file=sys.stderr)
            conflicts += 1
            continue
        rec[field] = json.loads(new)
        applied += 1
    for f, recs in files.items():
        f.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    print(f"{applied} applied, {conflicts} conflicts, {flags} flags")
    return 1 if conflicts else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
