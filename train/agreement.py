"""``persian-stance agreement``: inter-annotator agreement of a blind second labelling.

Compares a second annotator's file with the corpus labels for the same ids and
prints Cohen's kappa per topic (presence/absence), for actor mentions
(presence of each actor in each sentence) and for stance (on the mentions both
annotators labelled), plus raw agreement. ``--disagreements FILE`` writes every
disagreement as TSV for adjudication.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from persian_stance.infer.labels import ACTORS, STANCES, TOPICS


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("second", type=Path, help="the second annotator's labelled file")
    p.add_argument("--gold", nargs="*", type=Path, help="files holding the first labels (default: the authored corpus)")
    p.add_argument("--gold-rev", metavar="GIT_REVISION",
                   help="read the first labels (the authored batches) as they were at this git revision, "
                        "e.g. the commit before review or before adjudication")
    p.add_argument("--disagreements", type=Path, help="write disagreements here (TSV)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")


def run(args: argparse.Namespace) -> int:
    from .corpus import batch_files
    from .records import load_records

    gold_files = args.gold or list(batch_files().values())
    if args.gold_rev:
        gold_files = _files_at_revision(gold_files, args.gold_rev)
    first = {r.id: r for r in load_records(gold_files)}
    second = load_records([args.second])
    missing = [r.id for r in second if r.id not in first]
    if missing:
        raise SystemExit(f"{args.second}: ids not in the first labelling: {missing[:5]}")
    changed = [r.id for r in second if r.text != first[r.id].text]
    if changed:
        raise SystemExit(f"{args.second}: texts differ from the first labelling for {changed[:5]}")
    pairs = [(first[r.id], r) for r in second]
    result = agreement(pairs)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(render(result))
    if args.disagreements:
        write_disagreements(pairs, args.disagreements)
    return 0


def _files_at_revision(files: list[Path], rev: str) -> list[Path]:
    import subprocess
    import tempfile

    out_dir = Path(tempfile.mkdtemp(prefix="agreement-"))
    found = []
    for f in files:
        f = Path(f).resolve()
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=f.parent, capture_output=True,
                             text=True, check=True).stdout.strip()
        rel = f.relative_to(top).as_posix()
        show = subprocess.run(["git", "show", f"{rev}:{rel}"], cwd=top, capture_output=True)
        if show.returncode != 0:
            continue  # the batch did not exist yet at that revision
        target = out_dir / f.name
        target.write_bytes(show.stdout)
        found.append(target)
    if not found:
        raise SystemExit(f"no labelled batch files found at git revision {rev!r}")
    return found


def agreement(pairs) -> dict:
    from sklearn.metrics import cohen_kappa_score

    out: dict = {"sentences": len(pairs), "topics": {}, "stance": {}, "mentions": {}}
    for t in TOPICS:
        a = [int(t in x.topics) for x, _ in pairs]
        b = [int(t in y.topics) for _, y in pairs]
        out["topics"][t] = {"kappa": _kappa(a, b), "agreement": _agree(a, b), "positives": [sum(a), sum(b)]}
    a_m = [int(act in x.stances) for x, _ in pairs for act in ACTORS]
    b_m = [int(act in y.stances) for _, y in pairs for act in ACTORS]
    out["mentions"] = {"kappa": _kappa(a_m, b_m), "agreement": _agree(a_m, b_m),
                       "first": sum(a_m), "second": sum(b_m), "both": sum(x and y for x, y in zip(a_m, b_m))}
    a_s, b_s = [], []
    for x, y in pairs:
        for act in ACTORS:
            if act in x.stances and act in y.stances:
                a_s.append(x.stances[act])
                b_s.append(y.stances[act])
    out["stance"] = {"kappa": float(cohen_kappa_score(a_s, b_s, labels=list(STANCES))) if a_s else 0.0,
                     "agreement": _agree(a_s, b_s), "mentions_compared": len(a_s)}
    return out


def _kappa(a, b) -> float:
    from sklearn.metrics import cohen_kappa_score

    if len(set(a) | set(b)) < 2:
        return 1.0
    return float(cohen_kappa_score(a, b))


def _agree(a, b) -> float:
    return sum(x == y for x, y in zip(a, b)) / len(a) if a else 0.0


def render(r: dict) -> str:
    lines = [f"Blind second labelling of {r['sentences']} sentences", "",
             "| label | Cohen's kappa | raw agreement | positives (first / second) |", "|---|---|---|---|"]
    for t, v in r["topics"].items():
        lines.append(f"| topic {t} | {v['kappa']:.3f} | {v['agreement']:.3f} | {v['positives'][0]} / {v['positives'][1]} |")
    m = r["mentions"]
    lines.append(f"| actor mentions | {m['kappa']:.3f} | {m['agreement']:.3f} | {m['first']} / {m['second']} |")
    s = r["stance"]
    lines.append(f"| stance (on {s['mentions_compared']} mentions both labelled) | {s['kappa']:.3f} | {s['agreement']:.3f} | |")
    return "\n".join(lines)


def write_disagreements(pairs, path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write("id\tfield\tfirst\tsecond\ttext\n")
        for x, y in pairs:
            if set(x.topics) != set(y.topics):
                f.write(f"{x.id}\ttopics\t{json.dumps(list(x.topics), ensure_ascii=False)}\t"
                        f"{json.dumps(list(y.topics), ensure_ascii=False)}\t{x.text}\n")
            if x.stances != y.stances:
                f.write(f"{x.id}\tstances\t{json.dumps(x.stances, ensure_ascii=False)}\t"
                        f"{json.dumps(y.stances, ensure_ascii=False)}\t{x.text}\n")
