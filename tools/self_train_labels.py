"""Self-training (experiment 5 of #11): the model's confident labels on unlabelled pool articles.

    python tools/self_train_labels.py --model checkpoints/default --out runs/selftrain/pseudo-r1.jsonl

With ``--all`` it keeps every sentence instead, sure or not, as the transfer
set of a distillation (experiment 7): the labels it writes are the teacher's
decisions, and ``tools/distill_targets.py`` adds its probabilities.

Reads ``../shared/realnews/pool.jsonl`` (or ``$PERSIAN_STANCE_POOL``), keeps the
articles that no labelled sentence comes from (not in
``data/realnews/selection/references.jsonl`` nor in any real split), samples
``--articles`` of them with a fixed seed, segments them with the model's own
segmenter and labels every sentence. A sentence is kept when the model is sure
of all of it:

- every topic probability is at most ``--topic-low`` or at least ``--topic-high``;
- every detected actor has a stance whose probability is at least
  ``--stance-min`` (a sentence with an actor mentioned only past the
  truncation point is dropped).

Of the kept sentences, at most ``--per-article`` come from one article, and
sentences with neither topic nor actor make up at most ``--plain-share`` of the
output, which holds at most ``--max-sentences``. A sentence whose text also
appears in a real dev or test split, or in ``../shared/realnews/dev.jsonl``, is
never kept: those are measured on; nor is one already in the real train split.

Writes reference records (article id, offsets, hash; never the text, which
the pool's licences keep out of the repository) with ``"source": "pseudo"``,
loadable as training data (``data.train`` in a config), and prints what it kept.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LABELLED = [ROOT / "data" / "realnews" / "selection" / "references.jsonl",
            *(ROOT / "data" / "realnews" / f"{s}.jsonl" for s in ("train", "dev", "test"))]
SHARED_DEV = ROOT.parent / "shared" / "realnews" / "dev.jsonl"


def labelled_articles() -> set[str]:
    ids: set[str] = set()
    for path in LABELLED:
        with open(path, encoding="utf-8") as f:
            ids.update(json.loads(line)["article"] for line in f if line.strip())
    return ids


def measured_texts() -> set[str]:
    """Text keys of every sentence that is measured on, or labelled already (an
    unlabelled article can repeat a labelled one's sentence, which training
    would then read twice with two labels)."""
    from persian_stance.train.corpus import resolve_data
    from persian_stance.train.records import load_records, text_key

    paths = [*resolve_data("real-dev"), *resolve_data("real-test"), *resolve_data("real-train")]
    if SHARED_DEV.is_file():
        paths.append(SHARED_DEV)
    return {text_key(r.text) for p in paths for r in load_records([p])}


def confident(result, topic_low: float, topic_high: float, stance_min: float) -> bool:
    if any(topic_low < p < topic_high for p in result.topics.values()):
        return False
    return all(a.stance is not None and max(a.scores.values()) >= stance_min for a in result.actors)


def main() -> int:
    from persian_stance.infer.ensemble import load_predictor
    from persian_stance.train.realnews import Pool, reference_id, sentence_hash
    from persian_stance.train.records import text_key

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", nargs="+", default=["default"],
                    help="checkpoint that labels (default: the shipped one); several are averaged")
    ap.add_argument("--all", action="store_true",
                    help="keep every sentence, sure or not (a distillation transfer set: the soft targets of "
                         "tools/distill_targets.py carry the teacher's doubt)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--articles", type=int, default=500, help="unlabelled articles to label (seeded sample)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--topic-low", type=float, default=0.05)
    ap.add_argument("--topic-high", type=float, default=0.9)
    ap.add_argument("--stance-min", type=float, default=0.8)
    ap.add_argument("--per-article", type=int, default=8)
    ap.add_argument("--plain-share", type=float, default=0.4,
                    help="most of the output that may have neither topic nor actor")
    ap.add_argument("--max-sentences", type=int, default=3000)
    ap.add_argument("--min-words", type=int, default=5)
    ap.add_argument("--threads", type=int)
    args = ap.parse_args()

    pool = Pool.load()
    unlabelled = sorted(set(pool.texts) - labelled_articles())
    rng = random.Random(args.seed)
    chosen = rng.sample(unlabelled, min(args.articles, len(unlabelled)))
    print(f"{len(unlabelled)} unlabelled pool articles; labelling {len(chosen)}", file=sys.stderr, flush=True)
    skip = measured_texts()
    load = dict(device="cpu", threads=args.threads)
    predictor = load_predictor(args.model, **load)

    kept: list[tuple[str, object]] = []
    seen: set[str] = set()
    labelled = 0
    for k in range(0, len(chosen), 20):
        ids = chosen[k:k + 20]
        segmented = [[s for s in predictor.segment(pool.texts[a]) if len(s.normalized.split()) >= args.min_words]
                     for a in ids]
        for article, result in zip(ids, predictor.predict_segmented(segmented)):
            ok = []
            for r in result.sentences:
                labelled += 1
                key = text_key(r.text)
                if key in skip or key in seen:
                    continue
                seen.add(key)
                if args.all and all(a.stance is not None for a in r.actors) or \
                        confident(r, args.topic_low, args.topic_high, args.stance_min):
                    ok.append(r)
            rng.shuffle(ok)
            kept += [(article, r) for r in ok[:args.per_article]]
        print(f"  {k + len(ids)} articles, {labelled} sentences, {len(kept)} confident", file=sys.stderr, flush=True)

    rich = [x for x in kept if x[1].topic_labels or x[1].actors]
    plain = [x for x in kept if not (x[1].topic_labels or x[1].actors)]
    n_rich = min(len(rich), args.max_sentences)
    n_plain = min(len(plain), int(n_rich * args.plain_share / (1 - args.plain_share)), args.max_sentences - n_rich)
    rng.shuffle(rich)
    rng.shuffle(plain)
    out = rich[:n_rich] + plain[:n_plain]
    out.sort(key=lambda x: (x[0], x[1].start))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    topics, stances = Counter(), Counter()
    with open(args.out, "w", encoding="utf-8") as f:
        for article, r in out:
            assert pool.texts[article][r.start:r.end] == r.text  # the reference slices the labelled text
            record = {"id": reference_id(article, r.start), "article": article, "start": r.start, "end": r.end,
                      "hash": sentence_hash(r.text), "topics": list(r.topic_labels),
                      "stances": {a.actor: a.stance for a in r.actors}, "source": "pseudo"}
            topics.update(r.topic_labels or ["(none)"])
            stances.update(a.stance for a in r.actors)
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"{labelled} sentences labelled, {len(kept)} confident ({len(rich)} with a topic or actor); "
          f"wrote {len(out)} to {args.out}")
    print(f"topics: {dict(topics.most_common())}")
    print(f"stances: {dict(stances.most_common())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
