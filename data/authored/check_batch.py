"""Quick schema and statistics check for one authored batch (writers' aid).

The project's full validator (`persian-stance validate`) is the authority; this
script only needs the standard library so writers can run it anywhere in a
checkout. The labels come from the project's one list, infer/labels.py, read
by path so that neither the package nor its dependencies need be installed.
"""
import collections
import importlib.util
import json
import re
import sys
from pathlib import Path


def _labels():
    path = Path(__file__).resolve().parents[2] / "infer" / "labels.py"
    spec = importlib.util.spec_from_file_location("persian_stance_labels", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_L = _labels()
TOPICS, ACTORS, STANCES = list(_L.TOPICS), list(_L.ACTORS), list(_L.STANCES)


def main(path: str) -> int:
    errors = 0
    seen_ids, seen_texts = set(), set()
    topic_counts, cell_counts, lengths = collections.Counter(), collections.Counter(), []
    batch = re.search(r"b(\d\d)\.jsonl$", path)
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            def err(msg):
                nonlocal errors
                errors += 1
                print(f"{path}:{n}: {msg}")
            if not line.strip():
                err("empty line")
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                err(f"not JSON: {e}")
                continue
            if set(r) != {"id", "text", "topics", "stances", "source"}:
                err(f"fields must be id,text,topics,stances,source; got {sorted(r)}")
                continue
            if batch and not re.fullmatch(rf"a-b{batch.group(1)}-\d{{3}}", r["id"]):
                err(f"id {r['id']!r} does not match a-b{batch.group(1)}-NNN")
            if r["id"] in seen_ids:
                err(f"duplicate id {r['id']}")
            seen_ids.add(r["id"])
            key = re.sub(r"[\s\u200c]+", "", r["text"]).replace("ي", "ی").replace("ك", "ک")
            if key in seen_texts:
                err("duplicate text")
            seen_texts.add(key)
            if r["source"] != "authored":
                err("source must be 'authored'")
            if not isinstance(r["topics"], list) or any(t not in TOPICS for t in r["topics"]):
                err(f"bad topics {r['topics']}")
            elif r["topics"] != sorted(set(r["topics"]), key=TOPICS.index):
                err(f"topics must be unique and in the order {TOPICS}")
            if not isinstance(r["stances"], dict):
                err("stances must be an object")
                continue
            for a, s in r["stances"].items():
                if a not in ACTORS:
                    err(f"unknown actor {a!r}")
                if s not in STANCES:
                    err(f"unknown stance {s!r} for {a}")
                cell_counts[(a, s)] += 1
            for t in r["topics"]:
                topic_counts[t] += 1
            if not r["topics"]:
                topic_counts["(none)"] += 1
            lengths.append(len(r["text"].split()))
    print(f"{len(seen_ids)} records, {errors} errors")
    print("topics:", dict(topic_counts))
    for a in ACTORS:
        row = {s: cell_counts[(a, s)] for s in STANCES if cell_counts[(a, s)]}
        if row:
            print(f"  {a:17s} {row}")
    if lengths:
        lengths.sort()
        print(f"words: min {lengths[0]}, median {lengths[len(lengths) // 2]}, max {lengths[-1]}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(max(main(p) for p in sys.argv[1:]))
