"""The experiment table of #11: every experiment of train/configs/experiments.toml
scored on the real-news dev split (selection) and the authored test split (the
2-point guard), mean ± standard deviation over the seeds that exist, and the
winner by the rule written at the top of that file.

    python tools/experiment_table.py                 # prints the table, writes docs/reports/experiments/
    python tools/experiment_table.py --only default marked

Scores are cached per checkpoint (by its weights' SHA-256) under
runs/exp/scores/, so rerunning after one more seed scores only the new one.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "train" / "configs" / "experiments.toml"
CACHE = ROOT / "runs" / "exp" / "scores"
DERIVED = ROOT / "runs" / "exp" / "derived"
DATA = {"real-dev": "real-dev", "authored-test": "test"}
TIE = 0.005
GUARD = 0.02


def scores_of(predictor, key: str, data: str) -> dict:
    from persian_stance.train.corpus import resolve_data
    from persian_stance.train.evaluate import score_predictor
    from persian_stance.train.records import load_records

    cached = CACHE / f"{key}-{data}.json"
    if cached.is_file():
        return json.loads(cached.read_text())
    s = score_predictor(predictor, load_records(resolve_data(DATA[data])))
    out = {"topic_macro_f1": s["topic_macro_f1"], "stance_macro_f1": s["stance_macro_f1"],
           "favor_f1": s["stance"]["per_class_f1"]["favor"], "actor_f1": s["actor_f1"], "pair_f1": s["pair_f1"]}
    CACHE.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(out, indent=2) + "\n")
    return out


def weights_key(path: Path) -> str:
    from persian_stance.infer.checkpoint import read_config

    cfg = read_config(path)
    return (cfg.weights_sha256 or path.name)[:16] + "-" + _config_digest(path)


def _config_digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256((path / "config.json").read_bytes()).hexdigest()[:8]


def stance_prior_copy(base: Path, name: str, index: int) -> Path:
    """A copy of ``base`` recalibrated with the per-class stance bias on real dev,
    kept under the derived experiment's ``name``."""
    from persian_stance.infer.checkpoint import write_config
    from persian_stance.train.calibrate import calibrate

    out = DERIVED / name / str(index)
    marker = out / ".base"
    if not marker.is_file() or marker.read_text() != weights_key(base):
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(base, out)
        _, config = calibrate(str(out), ["real-dev"], "prior")
        write_config(out, config)
        (out / ".base").write_text(weights_key(base))
    return out


def soup_copy(bases: list[Path], name: str) -> Path:
    """One checkpoint whose weights are the mean of ``bases``' (a uniform "model
    soup": the seeds share the pretrained encoder they were fine-tuned from),
    with the first one's calibration and topic thresholds; kept under ``name``."""
    from persian_stance.infer.checkpoint import read_config, read_weights, save_checkpoint

    out = DERIVED / name / "0"
    key = "-".join(weights_key(p) for p in bases)
    marker = out / ".base"
    if not marker.is_file() or marker.read_text() != key:
        states = [read_weights(p) for p in bases]
        mean = {k: (sum(s[k].float() for s in states) / len(states)).to(v.dtype) for k, v in states[0].items()}
        save_checkpoint(out, read_config(bases[0]), mean)
        marker.write_text(key)
    return out


def experiment_scores(exp: dict, by_name: dict) -> dict[str, list[dict]]:
    from persian_stance.infer.ensemble import EnsemblePredictor
    from persian_stance.infer.predictor import Predictor

    derive = exp.get("derive")
    base = [ROOT / r for r in (by_name[exp["from"]] if derive else exp)["runs"]]
    runs = [p for p in base if (p / "config.json").is_file()]
    out: dict[str, list[dict]] = {d: [] for d in DATA}
    if derive == "ensemble":
        if len(runs) < 2:
            return out
        key = "ensemble-" + "-".join(weights_key(p)[:8] for p in runs)
        predictor = EnsemblePredictor.load_all(runs, device="cpu")
        for d in DATA:
            out[d].append(scores_of(predictor, key, d))
        return out
    if derive == "stance-prior":
        runs = [stance_prior_copy(p, exp["name"], i) for i, p in enumerate(runs)]
    if derive == "soup":
        if len(runs) < 2:
            return out
        runs = [soup_copy(runs, exp["name"])]
    for p in runs:
        predictor = None
        for d in DATA:
            key = weights_key(p)
            if not (CACHE / f"{key}-{d}.json").is_file() and predictor is None:
                predictor = Predictor.load(p, device="cpu")
            out[d].append(scores_of(predictor, key, d))
    return out


def ms(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", help="experiment names (default: all)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "reports" / "experiments")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    registry = tomllib.loads(REGISTRY.read_text(encoding="utf-8"))["experiment"]
    by_name = {e["name"]: e for e in registry}
    rows = []
    for exp in registry:
        if args.only and exp["name"] not in args.only:
            continue
        s = experiment_scores(exp, by_name)
        n = len(s["real-dev"])
        if not n:
            print(f"{exp['name']}: no checkpoint yet", file=sys.stderr)
            continue
        row = {"name": exp["name"], "what": exp["what"], "config": exp["config"], "n": n}
        for d in DATA:
            for k in ("topic_macro_f1", "stance_macro_f1", "favor_f1"):
                row[f"{d}/{k}"] = ms([x[k] for x in s[d]])
        rows.append(row)
    default = next((r for r in rows if r["name"] == "default"), None)
    for r in rows:
        r["eligible"] = default is None or all(
            r[f"authored-test/{k}"][0] >= default[f"authored-test/{k}"][0] - GUARD
            for k in ("topic_macro_f1", "stance_macro_f1"))
    eligible = sorted((r for r in rows if r["eligible"]), key=lambda r: -r["real-dev/stance_macro_f1"][0])
    winner = None
    if eligible:
        top = eligible[0]["real-dev/stance_macro_f1"][0]
        close = [r for r in eligible if r["real-dev/stance_macro_f1"][0] >= top - TIE]
        winner = max(close, key=lambda r: r["real-dev/topic_macro_f1"][0])["name"]
    text = render(rows, winner)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "table.md").write_text(text + "\n", encoding="utf-8")
    (args.out / "table.json").write_text(json.dumps({"rows": rows, "winner": winner}, indent=2) + "\n")
    return 0


def render(rows: list[dict], winner: str | None) -> str:
    def f(pair, n):
        m, s = pair
        # one seed has no spread to show: "± 0.000" would claim one
        return f"{m:.3f} ± {s:.3f}" if n > 1 else f"{m:.3f}"

    lines = ["| experiment | what | config | seeds | real dev topic | real dev stance | real dev favor F1 "
             "| authored test topic | authored test stance | within 2 pts |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        name = f"**{r['name']}** (winner)" if r["name"] == winner else r["name"]
        lines.append(f"| {name} | {r['what']} | `{r['config']}` | {r['n']} | {f(r['real-dev/topic_macro_f1'], r['n'])} | "
                     f"{f(r['real-dev/stance_macro_f1'], r['n'])} | {f(r['real-dev/favor_f1'], r['n'])} | "
                     f"{f(r['authored-test/topic_macro_f1'], r['n'])} | {f(r['authored-test/stance_macro_f1'], r['n'])} | "
                     f"{'yes' if r['eligible'] else 'no'} |")
    lines.append("")
    lines.append("Real dev = the real-news dev split (pool articles), which also fits each model's calibration "
                 "and topic thresholds; authored test guards against losing more than 2 points on authored text. "
                 "Rule: highest mean real-dev stance macro-F1; within 0.5 point, higher real-dev topic macro-F1.")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
