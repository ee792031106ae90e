"""``persian-stance coverage``: what the labelled corpus covers, counted.

Counts topics, actors and (actor, stance) cells, the hard negatives, stance
against an outlet's usual line, multi-actor sentences, implicit topics, forms
(reported speech, headlines), lengths and noise — per split and overall. The
targets of the corpus issue are printed beside the counts.
"""
from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

from persian_stance.infer.labels import ACTORS, STANCES, TOPICS

TARGETS = {"topic": 400, "none": 1000, "actor": 150, "cell": 40, "total": 3000}
RARE_CELLS = {("terrorist_groups", "favor")}

_HARD_NEGATIVES = {
    "sanctions: election boycott («تحریم انتخابات»)": (r"تحریم[\s\u200c]*(انتخابات|رای)", "sanctions"),
    "sanctions: other boycotts (goods, events)": (r"تحریم[\s\u200c]*(کالا|محصولات|اجناس|مسابق|المپیک|جشنواره|جام)|بایکوت", "sanctions"),
    "sanctions: nuclear deal without sanctions": (r"برجام|توافق[\s\u200c]*هسته", "sanctions"),
    "sanctions: «جنگ اقتصادی» without sanctions": (r"جنگ[\s\u200c]*اقتصادی", "sanctions"),
    "covid: other diseases": (r"(?<![آ-ی])(آنفلوآنزا|آنفولانزا|آنفلوانزا|وبا|سرخک|فلج[\s\u200c]*اطفال|سرطان|ایدز|آبله|دیابت|سل|مالاریا|هپاتیت|کزاز|ابولا|دیفتری|تالاسمی|هموفیلی)(?![آ-ی])", "covid"),
    "covid: other health news (hospitals, drugs, insurance, vaccines)": (r"(?<![آ-ی])(بیمارستان|دارو|بیمه|پزشک|واکسن|درمان)", "covid"),
    "karabakh: Iran's Azerbaijan provinces": (r"آذربایجان[\s\u200c]*(شرقی|غربی)|استان[\s\u200c]*(های[\s\u200c]*)?آذربایجان|تبریز|ارومیه|اردبیل", "karabakh"),
    "syria: Syria named without the topic": (None, "syria"),
    "karabakh: Armenia or Azerbaijan without the topic": (None, "karabakh"),
}
# Topic words for the "implicit topic" rows; a topic without an entry simply has
# no such row (the topics themselves come from infer/labels.py).
_IMPLICIT = {
    "syria": r"سوریه|سوری",
    "karabakh": r"قره[\s\u200c]*باغ",
    "sanctions": r"تحریم",
    "covid": r"کرونا|کووید|covid",
}
_REPORTED = re.compile(r"گفت|افزود|اظهار|تاکید کرد|تأکید کرد|خاطرنشان|تصریح|به گزارش|به نقل از|اعلام کرد|:")
_ARABIC_LETTERS = re.compile("[يك]")
_LATIN_DIGITS = re.compile(r"[0-9]")
_ARABIC_DIGITS = re.compile("[٠-٩]")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="*", type=Path, help="labelled files (default: the authored corpus by split)")
    p.add_argument("--real", action="store_true", help="the labelled real-news pool sentences, by split")


def run(args: argparse.Namespace) -> int:
    from .corpus import REAL_SPLITS, split_files
    from .records import load_records

    if args.real:
        # train-round3 appears as its own column once it has been labelled.
        groups = {name.removeprefix("real-"): load_records([path]) for name, path in REAL_SPLITS.items()
                  if path.is_file() or name != "real-train-round3"}
    elif args.files:
        groups = {"files": load_records(args.files)}
    else:
        groups = {s: load_records(split_files(s)) for s in ("train", "dev", "test")}
    groups_all = [r for rs in groups.values() for r in rs]
    print(render(coverage(groups_all), {k: coverage(v) for k, v in groups.items()} if len(groups) > 1 else {}))
    return 0


def coverage(records) -> dict:
    from persian_stance.infer.normalize import Normalizer

    normalizer = Normalizer()
    c: dict = {"records": len(records)}
    c["topics"] = Counter(t for r in records for t in r.topics)
    c["none"] = sum(1 for r in records if not r.topics)
    c["multi_topic"] = sum(1 for r in records if len(r.topics) > 1)
    c["actors"] = Counter(a for r in records for a in r.stances)
    c["cells"] = Counter((a, s) for r in records for a, s in r.stances.items())
    hard = Counter()
    for r in records:
        text = r.text
        for name, (pattern, topic) in _HARD_NEGATIVES.items():
            if topic in r.topics:
                continue
            if pattern is None:
                if topic == "syria" and "syria" in r.stances:
                    hard[name] += 1
                elif topic == "karabakh" and ({"armenia", "azerbaijan"} & set(r.stances)):
                    hard[name] += 1
            elif re.search(pattern, text):
                hard[name] += 1
    c["hard_negatives"] = hard
    c["against_line"] = {
        "criticism of Russia": c["cells"][("russia", "against")],
        "criticism of Turkey": c["cells"][("turkey", "against")],
        "praise of the USA": c["cells"][("usa", "favor")],
        "praise of Europe": c["cells"][("europe", "favor")],
        "neutral reports of the USA": c["cells"][("usa", "neutral")],
        "criticism of Iran": c["cells"][("iran", "against")],
        "Karabakh: Armenia favor / against": (
            sum(1 for r in records if "karabakh" in r.topics and r.stances.get("armenia") == "favor"),
            sum(1 for r in records if "karabakh" in r.topics and r.stances.get("armenia") == "against")),
        "Karabakh: Azerbaijan favor / against": (
            sum(1 for r in records if "karabakh" in r.topics and r.stances.get("azerbaijan") == "favor"),
            sum(1 for r in records if "karabakh" in r.topics and r.stances.get("azerbaijan") == "against")),
    }
    c["multi_actor_different_stances"] = sum(1 for r in records if len(set(r.stances.values())) > 1)
    c["multi_actor"] = sum(1 for r in records if len(r.stances) > 1)
    c["implicit"] = {t: sum(1 for r in records if t in r.topics and not re.search(p, r.text))
                     for t, p in _IMPLICIT.items() if t in TOPICS}
    words = [len(r.text.split()) for r in records]
    c["length"] = {"min": min(words, default=0), "max": max(words, default=0),
                   "<12": sum(w < 12 for w in words), "12-35": sum(12 <= w <= 35 for w in words),
                   "36-55": sum(36 <= w <= 55 for w in words), ">55": sum(w > 55 for w in words)}
    c["forms"] = {
        "reported speech": sum(1 for r in records if _REPORTED.search(r.text)),
        "headline-like (no final punctuation, ≤ 14 words)": sum(
            1 for r, w in zip(records, words) if w <= 14 and not r.text.rstrip().endswith((".", "!", "؟", "?", "»"))),
    }
    c["noise"] = {
        "missing half-spaces (normaliser inserts one)": sum(
            1 for r in records if normalizer.normalize(r.text).count("\u200c") > r.text.count("\u200c")),
        "Arabic ي/ك": sum(1 for r in records if _ARABIC_LETTERS.search(r.text)),
        "Latin digits": sum(1 for r in records if _LATIN_DIGITS.search(r.text)),
        "Arabic-Indic digits": sum(1 for r in records if _ARABIC_DIGITS.search(r.text)),
    }
    return c


def _ok(n: int, target: int) -> str:
    return f"{n}" if n >= target else f"**{n}** (< {target})"


def render(total: dict, per_split: dict[str, dict]) -> str:
    splits = list(per_split)
    head = "| | all | " + " | ".join(splits) + " |" if splits else "| | all |"
    sep = "|---|---|" + "---|" * len(splits)

    def row(label, fn):
        cells = [fn(total)] + [str(fn(per_split[s])) for s in splits]
        return f"| {label} | " + " | ".join(str(x) for x in cells) + " |"

    out = [f"## Corpus coverage ({total['records']} sentences; targets: each topic ≥ {TARGETS['topic']}, "
           f"no topic ≥ {TARGETS['none']}, each actor ≥ {TARGETS['actor']}, each (actor, stance) ≥ {TARGETS['cell']})",
           "", "### Topics", "", head, sep]
    for t in TOPICS:
        out.append(row(t, lambda c, t=t: _ok(c["topics"][t], TARGETS["topic"]) if c is total else c["topics"][t]))
    out.append(row("no topic", lambda c: _ok(c["none"], TARGETS["none"]) if c is total else c["none"]))
    out.append(row("two or more topics", lambda c: c["multi_topic"]))
    out += ["", "### Actors and (actor, stance) cells (all splits)", "",
            "| actor | mentions | favor | against | neutral |", "|---|---|---|---|---|"]
    for a in ACTORS:
        cells = []
        for s in STANCES:
            n = total["cells"][(a, s)]
            cells.append(str(n) if (a, s) in RARE_CELLS else _ok(n, TARGETS["cell"]))
        out.append(f"| {a} | {_ok(total['actors'][a], TARGETS['actor'])} | " + " | ".join(cells) + " |")
    out += ["", "(favor toward terrorist groups is rare by the guideline's definition and has no target.)", "",
            "### Hard negatives (sentences without the topic)", "", head, sep]
    for name in _HARD_NEGATIVES:
        out.append(row(name, lambda c, n=name: c["hard_negatives"][n]))
    out += ["", "### Stance against the usual line of an outlet", "", "| | all |", "|---|---|"]
    for k, v in total["against_line"].items():
        out.append(f"| {k} | {v if not isinstance(v, tuple) else ' / '.join(map(str, v))} |")
    out += ["", "### Structure, form, length, noise", "", head, sep,
            row("two or more actors", lambda c: c["multi_actor"]),
            row("actors with different stances", lambda c: c["multi_actor_different_stances"])]
    for t in total["implicit"]:
        out.append(row(f"implicit {t} (topic without its usual word)", lambda c, t=t: c["implicit"][t]))
    for k in total["forms"]:
        out.append(row(k, lambda c, k=k: c["forms"][k]))
    for k in ("min", "max", "<12", "12-35", "36-55", ">55"):
        out.append(row(f"length in words: {k}", lambda c, k=k: c["length"][k]))
    for k in total["noise"]:
        out.append(row(k, lambda c, k=k: c["noise"][k]))
    return "\n".join(out) + "\n"
