"""Choose the real-news pool sentences to label (issue: real-news training data).

Reads ``../shared/realnews/pool.jsonl``, splits every article with the
runtime's own segmenter, and picks sentences by fixed rules with a fixed seed:

1. every sentence with a Karabakh or COVID cue (the pool has few);
2. Syria and sanctions cue sentences, enough for 500+ positives each;
3. hard negatives: Iraq/Lebanon news, the nuclear file without sanctions,
   tariffs, other diseases, election and product boycotts, Syria in a list;
4. a top-up so that each actor is mentioned 200+ times where the pool allows;
5. the sentences the shipped model is least sure of (uncertainty sampling);
6. plain sentences, most with no topic, so that the no-topic class is real;
7. a second round, added after the first labels came back with fewer than 500
   Syria positives: every remaining Syria-cue sentence and every remaining
   sentence naming Azerbaijan or Armenia, uncapped. Articles already split
   keep their split.

A third round (``--round3 N``, issue 11) adds N sentences to the *train*
split only, so that the dev and test splits, and every figure measured on
them, stay as they are. It reads the existing references and leaves them
untouched; it takes sentences naming an actor, from articles that are not in
dev or test, that no earlier reference overlaps. The model errors it aims at
are neutral mentions read as favor or against (three quarters of the stance
errors on the real dev split, ``tools/stance_errors.py``), so it takes:
sentences where ``--model`` reads a favor or against stance (many of them
neutral in truth), the sentences with the smallest margin between the two top
stance classes, and random actor sentences, so that the mix stays like the pool.

Uncertainty comes from the model shipped when the selection was made
(``checkpoints/default`` as of December 2026, int8); run with that model to
reproduce ``references.jsonl`` exactly. At most ``--per-article`` sentences come from one article (cue-rich articles
would otherwise dominate), except Karabakh and COVID sentences.

Writes ``data/realnews/selection/references.jsonl``: one reference per sentence (article
id, offsets, hash; never the text) with the reasons it was chosen and the
split of its article, and prints what it chose. With ``--tasks DIR`` it also
writes labelling task files that carry the text; DIR must be outside the
repository.

    python tools/select_real_pool.py --tasks /tmp/rn-tasks
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from persian_stance.infer.actors import ActorDetector
from persian_stance.infer.labels import ACTORS, TOPICS
from persian_stance.infer.normalize import Normalizer
from persian_stance.infer.segment import segment_article
from persian_stance.train.realnews import REPO_DIR, pool_path, reference_id, sentence_hash

SEED = 20261207
OUT = REPO_DIR / "data" / "realnews" / "selection" / "references.jsonl"

# Cues are matched on the normalised sentence with spaces and half-spaces removed.
CUES = {
    "karabakh": r"قرهباغ|ناگورنو|آرتساخ|استپاناکرت|زنگزور",
    "covid": r"کرونا|کووید|کوید|پاندمی|همهگیری|قرنطینه|واکسن|ویروسجدید",
    "syria": r"سوریه|سوری|دمشق|حلب|ادلب|غوطه|دیرالزور|رقه|النصره|تحریرالشام|بشاراسد|داعش",
    "sanctions": r"تحریم|فشارحداکثری|اینستکس|سوئیفت|اسنپبک|مکانیسمماشه|لغوتحریم",
}
HARD_NEGATIVES = {
    "iraq_lebanon": (r"عراق|لبنان|حزبالله|بغداد|بیروت", r"سوریه|دمشق|داعش"),
    "nuclear_without_sanctions": (r"برجام|هستهای|انرژیاتمی|غنیسازی", r"تحریم"),
    "tariffs": (r"تعرفه|جنگتجاری", r"تحریم"),
    "other_diseases": (r"بیماری|آنفلوآنزا|سرطان|دیابت|ایدز|وبا|سرخک|بیمارستان|دارو", r"کرونا|کووید|کوید|واکسن"),
    "boycott": (r"تحریمانتخابات|تحریمکالا|تحریمخرید|تحریممحصولات|انتخاباتراتحریم", r"^$"),
}
# Syria named among other places, not as the subject: a list with a comma or «و».
SYRIA_IN_LIST = re.compile(r"(?:،|و)\s*سوریه\s*(?:،|و)|(?:عراق|لبنان|یمن|لیبی)\s*(?:،|و)\s*سوریه")


def _key(text: str) -> str:
    return re.sub(r"[\s\u200c]+", "", text)


def _compile(p: str) -> re.Pattern:
    return re.compile(p)


def segment_pool(path: Path, min_words: int, max_words: int) -> list[dict]:
    """Every usable sentence of the pool, with cues and detected actors."""
    normalizer = Normalizer()
    detector = ActorDetector.default()
    cues = {k: _compile(v) for k, v in CUES.items()}
    hard = {k: (_compile(a), _compile(b)) for k, (a, b) in HARD_NEGATIVES.items()}
    rows, seen = [], set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            art = json.loads(line)
            for s in segment_article(art["text"], normalizer):
                words = len(s.normalized.split())
                if not (min_words <= words <= max_words):
                    continue
                key = _key(s.normalized)
                if key in seen:  # the same sentence in two articles: label it once
                    continue
                seen.add(key)
                rows.append({
                    "article": art["id"], "source": art["source"], "start": s.start, "end": s.end,
                    "text": s.text, "normalized": s.normalized,
                    "cues": [t for t, p in cues.items() if p.search(key)],
                    "hard": [h for h, (yes, no) in hard.items() if yes.search(key) and not no.search(key)]
                            + (["syria_in_list"] if SYRIA_IN_LIST.search(s.normalized) else []),
                    "actors": sorted(set(detector.actors(s.normalized)), key=ACTORS.index),
                })
    return rows


def model_uncertainty(rows: list[dict], model: str, batch_size: int, only: set[int] | None = None) -> None:
    """Adds ``uncertainty`` in [0, 1]: how close the shipped model is to changing
    a label (a topic probability near its threshold, or a stance whose top class
    barely wins), ``stance_uncertainty`` (the stance margins alone) and the
    model's labels, for rows with an actor or a cue (or the rows in ``only``)."""
    from persian_stance.infer import Predictor

    predictor = Predictor.load(model, batch_size=batch_size, quantize=True)
    idx = [i for i, r in enumerate(rows) if (r["actors"] or r["cues"]) and (only is None or i in only)]
    print(f"model: scoring {len(idx)} sentences …", file=sys.stderr)
    for start in range(0, len(idx), 512):
        chunk = idx[start:start + 512]
        results = predictor.predict([rows[i]["text"] for i in chunk])
        for i, res in zip(chunk, results):
            margins = [1 - 2 * abs(res.topics[t] - predictor.thresholds[t]) for t in TOPICS]
            stance_margins = []
            for a in res.actors:
                if a.scores is None:
                    continue
                top2 = sorted(a.scores.values(), reverse=True)[:2]
                stance_margins.append(1 - (top2[0] - top2[1]))
            rows[i]["uncertainty"] = round(max(0.0, max(margins + stance_margins)), 4)
            rows[i]["stance_uncertainty"] = round(max(stance_margins, default=0.0), 4)
            rows[i]["model_topics"] = res.topic_labels
            rows[i]["model_stances"] = {a.actor: a.stance for a in res.actors if a.stance}
        print(f"  {min(start + 512, len(idx))}/{len(idx)}", file=sys.stderr)


def select(rows: list[dict], rng: random.Random, per_article: int, targets: dict) -> dict[int, list[str]]:
    chosen: dict[int, list[str]] = {}
    per_art: Counter = Counter()

    def take(i: int, reason: str, capped: bool = True) -> bool:
        if i in chosen:
            chosen[i].append(reason)
            return False
        art = rows[i]["article"]
        if capped and per_art[art] >= per_article:
            return False
        chosen[i] = [reason]
        per_art[art] += 1
        return True

    def fill(candidates: list[int], n: int, reason: str) -> int:
        rng.shuffle(candidates)
        got = 0
        for i in candidates:
            if got >= n:
                break
            got += take(i, reason)
        return got

    by_cue = defaultdict(list)
    by_hard = defaultdict(list)
    for i, r in enumerate(rows):
        for c in r["cues"]:
            by_cue[c].append(i)
        for h in r["hard"]:
            by_hard[h].append(i)
    for topic in ("karabakh", "covid"):
        for i in by_cue[topic]:
            take(i, f"cue:{topic}", capped=False)
    for topic in ("syria", "sanctions"):
        fill(by_cue[topic], targets["cue"], f"cue:{topic}")
    for h, n in targets["hard"].items():
        fill(by_hard[h], n, f"hard:{h}")
    # Actor top-up, rarest actor first.
    for actor in ACTORS:
        have = sum(actor in rows[i]["actors"] for i in chosen)
        if have < targets["actor"]:
            cands = [i for i, r in enumerate(rows) if actor in r["actors"] and i not in chosen]
            fill(cands, targets["actor"] - have, f"actor:{actor}")
    # Uncertainty sampling: the least sure first, among those not chosen yet.
    unsure = sorted((i for i, r in enumerate(rows) if "uncertainty" in r and i not in chosen),
                    key=lambda i: (-rows[i]["uncertainty"], i))
    got = 0
    for i in unsure:
        if got >= targets["uncertain"]:
            break
        got += take(i, "uncertain")
    # Plain sentences: random, with and without actors.
    plain = [i for i, r in enumerate(rows) if not r["cues"] and i not in chosen]
    fill(plain, targets["plain"], "plain")
    return chosen


def top_up(rows: list[dict], chosen: dict[int, list[str]], actors: tuple[str, ...]) -> dict[int, list[str]]:
    """Second round, after the first labels showed Syria under 500 positives
    (about 40% of Syria-cue sentences are the topic): every remaining Syria-cue
    sentence, and every remaining sentence naming the rarest actors, with no
    per-article cap."""
    extra: dict[int, list[str]] = {}
    for i, r in enumerate(rows):
        if i in chosen:
            continue
        reasons = (["topup:syria"] if "syria" in r["cues"] else []) + \
            [f"topup:actor:{a}" for a in actors if a in r["actors"]]
        if reasons:
            extra[i] = reasons
    return extra


def third_round(rows: list[dict], refs: list[dict], rng: random.Random, n: int, per_article: int,
                model: str) -> dict[int, list[str]]:
    """Round 3: ``n`` new train sentences naming an actor (see the module's
    docstring): 45 % the model reads as favor or against, 30 % the smallest
    stance margins, 25 % random, at most ``per_article`` per article counting
    the earlier rounds' sentences."""
    held_out = {r["article"] for r in refs if r["split"] != "train"}
    spans = defaultdict(list)
    for r in refs:
        spans[r["article"]].append((r["start"], r["end"]))
    per_art = Counter(r["article"] for r in refs)
    cands = {i for i, r in enumerate(rows)
             if r["actors"] and r["article"] not in held_out
             and not any(s < r["end"] and r["start"] < e for s, e in spans[r["article"]])}
    print(f"round 3: {len(cands)} candidate sentences", file=sys.stderr)
    model_uncertainty(rows, model, batch_size=32, only=cands)
    chosen: dict[int, list[str]] = {}

    def take(pool: list[int], k: int, reason: str) -> None:
        got = 0
        for i in pool:
            if got >= k:
                break
            if i in chosen or per_art[rows[i]["article"]] >= per_article:
                continue
            chosen[i] = [reason]
            per_art[rows[i]["article"]] += 1
            got += 1

    charged = sorted(i for i in cands if set(rows[i].get("model_stances", {}).values()) - {"neutral"})
    rng.shuffle(charged)
    take(charged, round(0.45 * n), "round3:charged")
    unsure = sorted(cands, key=lambda i: (-rows[i].get("stance_uncertainty", 0.0), i))
    take(unsure, round(0.30 * n), "round3:uncertain")
    rest = sorted(cands)
    rng.shuffle(rest)
    take(rest, n - len(chosen), "round3:actor")
    return chosen


def assign_splits(rows: list[dict], chosen: dict[int, list[str]], rng: random.Random,
                  shares: dict[str, float], fixed: dict[str, str] | None = None) -> dict[str, str]:
    """Whole articles to train/dev/test. Articles are dealt rarest-cue first so
    that the few Karabakh and COVID articles reach every split."""
    arts: dict[str, list[int]] = defaultdict(list)
    for i in chosen:
        arts[rows[i]["article"]].append(i)
    rank = {"karabakh": 0, "covid": 1, "syria": 2, "sanctions": 3}

    def group(a: str) -> int:
        cues = {c for i in arts[a] for c in rows[i]["cues"]}
        return min((rank[c] for c in cues), default=4)

    fixed = fixed or {}
    split_of, counts = dict(fixed), Counter()
    got = defaultdict(Counter)
    for a in fixed:  # articles already split keep their split; the shares count them
        if a in arts:
            got[group(a)][fixed[a]] += len(arts[a])
    names = sorted(a for a in arts if a not in fixed)
    rng.shuffle(names)
    names.sort(key=group)
    total = {g: sum(len(arts[a]) for a in arts if group(a) == g) for g in range(5)}
    for a in names:
        g = group(a)
        # The split furthest below its share within this cue group takes the article.
        need = {s: shares[s] * total[g] - got[g][s] for s in shares}
        s = max(shares, key=lambda s: (need[s], -list(shares).index(s)))
        split_of[a] = s
        got[g][s] += len(arts[a])
        counts[s] += len(arts[a])
    return split_of


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pool", type=Path, default=None, help="pool file (default: $PERSIAN_STANCE_POOL or ../shared)")
    ap.add_argument("--model", default="default", help="model for uncertainty sampling")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--tasks", type=Path, help="write labelling task files (with text) to this folder, outside the repo")
    ap.add_argument("--task-size", type=int, default=290)
    ap.add_argument("--per-article", type=int, default=6)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--round3", type=int, metavar="N",
                    help="add N train sentences to the existing references (third round) instead of selecting anew")
    ap.add_argument("--blind", type=int, default=150, help="round 3: sentences drawn for the blind second labelling")
    args = ap.parse_args()

    if args.tasks and REPO_DIR in args.tasks.resolve().parents:
        ap.error("--tasks must be outside the repository: task files carry pool text")
    rng = random.Random(args.seed)
    rows = segment_pool(pool_path(args.pool), min_words=5, max_words=90)
    print(f"pool: {len(rows)} usable sentences from {len({r['article'] for r in rows})} articles", file=sys.stderr)
    if args.round3:
        return add_third_round(args, rows, rng)
    model_uncertainty(rows, args.model, batch_size=32)
    targets = {
        "cue": 820,
        "hard": {"iraq_lebanon": 200, "nuclear_without_sanctions": 200, "tariffs": 80, "other_diseases": 150,
                 "boycott": 60, "syria_in_list": 60},
        "actor": 220,
        "uncertain": 900,
        "plain": 700,
    }
    shares = {"train": 0.62, "dev": 0.16, "test": 0.22}
    chosen = select(rows, rng, args.per_article, targets)
    split_of = assign_splits(rows, chosen, rng, shares)
    extra = top_up(rows, chosen, ("azerbaijan", "armenia"))
    chosen.update(extra)
    split_of = assign_splits(rows, chosen, rng, shares, fixed=split_of)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    order = sorted(chosen, key=lambda i: (rows[i]["article"], rows[i]["start"]))
    with open(args.out, "w", encoding="utf-8") as f:
        for i in order:
            r = rows[i]
            f.write(json.dumps({
                "id": reference_id(r["article"], r["start"]), "article": r["article"], "start": r["start"],
                "end": r["end"], "hash": sentence_hash(r["text"]), "split": split_of[r["article"]],
                "reasons": chosen[i], "model_uncertainty": r.get("uncertainty"),
            }, ensure_ascii=False) + "\n")

    reasons = Counter(x.split(":")[0] + ":" + x.split(":")[1] if ":" in x else x for i in chosen for x in chosen[i])
    splits = Counter(split_of[rows[i]["article"]] for i in chosen)
    actors = Counter(a for i in chosen for a in rows[i]["actors"])
    print(f"chose {len(chosen)} sentences from {len({rows[i]['article'] for i in chosen})} articles -> {args.out}")
    print("splits:", dict(splits))
    print("reasons:", dict(sorted(reasons.items())))
    print("detected actor mentions:", {a: actors[a] for a in ACTORS})
    print("model topics:", Counter(t for i in chosen for t in rows[i].get("model_topics", [])))

    if args.tasks:
        args.tasks.mkdir(parents=True, exist_ok=True)
        shuffled = list(order)
        rng.shuffle(shuffled)  # no article read in sequence: each sentence on its own words
        for n in range(0, len(shuffled), args.task_size):
            with open(args.tasks / f"task{n // args.task_size + 1:02d}.jsonl", "w", encoding="utf-8") as f:
                for i in shuffled[n:n + args.task_size]:
                    r = rows[i]
                    f.write(json.dumps({"id": reference_id(r["article"], r["start"]),
                                        "text": r["text"].replace("\n", " ")}, ensure_ascii=False) + "\n")
        print(f"task files in {args.tasks}")
    return 0


def add_third_round(args: argparse.Namespace, rows: list[dict], rng: random.Random) -> int:
    refs = [json.loads(line) for line in open(args.out, encoding="utf-8")]
    chosen = third_round(rows, refs, rng, args.round3, args.per_article, args.model)
    order = sorted(chosen, key=lambda i: (rows[i]["article"], rows[i]["start"]))
    with open(args.out, "a", encoding="utf-8") as f:
        for i in order:
            r = rows[i]
            f.write(json.dumps({
                "id": reference_id(r["article"], r["start"]), "article": r["article"], "start": r["start"],
                "end": r["end"], "hash": sentence_hash(r["text"]), "split": "train",
                "reasons": chosen[i], "model_uncertainty": r.get("uncertainty"),
            }, ensure_ascii=False) + "\n")
    reasons = Counter(x for i in chosen for x in chosen[i])
    stances = Counter(s for i in chosen for s in rows[i].get("model_stances", {}).values())
    print(f"round 3: added {len(chosen)} train sentences from {len({rows[i]['article'] for i in chosen})} "
          f"articles -> {args.out}")
    print("reasons:", dict(sorted(reasons.items())))
    print("model stances of their mentions:", dict(stances))
    if args.tasks:
        args.tasks.mkdir(parents=True, exist_ok=True)
        shuffled = list(order)
        rng.shuffle(shuffled)
        blind = sorted(rng.sample(shuffled, min(args.blind, len(shuffled))), key=shuffled.index)
        groups = {f"r3-task{n // args.task_size + 1:02d}": shuffled[n:n + args.task_size]
                  for n in range(0, len(shuffled), args.task_size)}
        groups["r3-blind"] = blind
        for name, idx in groups.items():
            with open(args.tasks / f"{name}.jsonl", "w", encoding="utf-8") as f:
                for i in idx:
                    f.write(json.dumps({"id": reference_id(rows[i]["article"], rows[i]["start"]),
                                        "text": rows[i]["text"].replace("\n", " ")}, ensure_ascii=False) + "\n")
        print(f"task files in {args.tasks}: {', '.join(groups)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
