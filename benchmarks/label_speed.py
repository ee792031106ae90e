"""Labelling speed and memory: naive vs batched fp32 vs batched int8.

    python benchmarks/label_speed.py                      # the real article pool
    python benchmarks/label_speed.py --input my_folder/   # .txt files or a .jsonl of articles

All three modes label the same sentences (the articles segmented once, up
front) with the same checkpoint, each in its own process so that peak memory
is measured per mode:

- naive: one sentence per call, no batching (``predict([s])``);
- fp32: sentences sorted by length and batched (``--batch-size``);
- int8: the same with int8 dynamic quantisation of the linear layers.

Times include normalisation, actor detection and tokenisation. The table also
gives the arithmetic each mode sustains: 2 × (weights of the encoder's linear
layers) × (real tokens, padding not counted) per second, a lower bound on the
model's FLOP rate, to compare with what the CPU can do at most. With
``--dev`` (default: ../shared/realnews/dev.jsonl when present) the fp32 and int8
modes also report topic and stance macro-F1 there, to show what quantisation
costs in quality. Prints a table; ``--json`` writes the figures too.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_INPUT = ROOT.parent / "shared" / "realnews" / "articles.jsonl"
DEFAULT_DEV = ROOT.parent / "shared" / "realnews" / "dev.jsonl"


def load_sentences(path: Path, limit: int | None) -> list[str]:
    sys.path.insert(0, str(ROOT))
    from persian_stance.infer.segment import segment_article

    if path.is_dir():
        texts = [p.read_text(encoding="utf-8") for p in sorted(path.rglob("*.txt"))]
    else:
        texts = [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    sentences = [s.text for t in texts for s in segment_article(t)]
    return sentences[:limit] if limit else sentences


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if platform.system() == "Darwin" else peak / 1024


def worker(mode: str, model: str, sentences_file: Path, batch_size: int, dev: str | None, threads: int | None) -> dict:
    from persian_stance.infer.predictor import Predictor

    sentences = json.loads(sentences_file.read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    predictor = Predictor.load(model, batch_size=1 if mode == "naive" else batch_size,
                               quantize=mode == "int8", threads=threads, device="cpu")
    load_s = time.perf_counter() - t0
    predictor.predict(sentences[:8])  # warm-up
    t0 = time.perf_counter()
    if mode == "naive":
        for s in sentences:
            predictor.predict([s])
    else:
        chunk = 512  # how the labelling command feeds the model: many sentences per call
        for i in range(0, len(sentences), chunk):
            predictor.predict(sentences[i:i + chunk])
    seconds = time.perf_counter() - t0
    out = {"mode": mode, "sentences": len(sentences), "seconds": seconds,
           "sentences_per_second": len(sentences) / seconds, "load_seconds": load_s, "peak_rss_mb": peak_rss_mb()}
    if dev and mode != "naive":
        from persian_stance.train.evaluate import score_predictor
        from persian_stance.train.records import load_records

        scores = score_predictor(predictor, load_records([dev]))
        out["dev"] = {k: scores[k] for k in ("topic_macro_f1", "stance_macro_f1", "actor_f1", "pair_f1")}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", type=Path, default=DEFAULT_INPUT, help="folder of .txt or .jsonl of articles")
    ap.add_argument("--model", default="default")
    ap.add_argument("--max-sentences", type=int, help="label only the first N sentences")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--dev", default=str(DEFAULT_DEV) if DEFAULT_DEV.is_file() else None,
                    help="labelled file for the fp32/int8 quality check ('' to skip)")
    ap.add_argument("--modes", default="naive,fp32,int8")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--_worker", help=argparse.SUPPRESS)
    ap.add_argument("--_sentences", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args._worker:
        print(json.dumps(worker(args._worker, args.model, args._sentences, args.batch_size, args.dev or None,
                                args.threads)))
        return 0

    if not args.input.exists():
        print(f"no input at {args.input}; pass --input", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    sentences = load_sentences(args.input, args.max_sentences)
    print(f"{len(sentences)} sentences from {args.input} (segmented in {time.perf_counter() - t0:.1f} s); "
          f"model {args.model}; batch size {args.batch_size}; CPU threads {args.threads or os.cpu_count()}",
          file=sys.stderr)
    tmp = ROOT / "runs" / "bench-sentences.json"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(json.dumps(sentences, ensure_ascii=False), encoding="utf-8")
    results = {}
    for mode in args.modes.split(","):
        cmd = [sys.executable, __file__, "--_worker", mode, "--_sentences", str(tmp), "--model", args.model,
               "--batch-size", str(args.batch_size), "--dev", args.dev or ""]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        print(f"running {mode} …", file=sys.stderr, flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            return 1
        results[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
    work = model_work(args.model, tmp)
    for r in results.values():
        r["linear_gflop_per_second"] = work["gflop"] / r["seconds"]
    results["_work"] = work
    results["_cpu"] = {"matmul_gflop_per_second": matmul_gflops()}
    print(f"{work['tokens']} tokens ({work['tokens'] / len(sentences):.1f} a sentence), "
          f"{work['linear_params'] / 1e6:.1f} M weights in linear layers → {work['gflop']:.0f} GFLOP of matrix work",
          file=sys.stderr)
    print(f"this CPU's fp32 matrix multiply (1024×1024, torch, best round): {results['_cpu']['matmul_gflop_per_second']:.0f} GFLOP/s",
          file=sys.stderr)
    print(render({k: v for k, v in results.items() if not k.startswith("_")}))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


def matmul_gflops(n: int = 1024, rounds: int = 7, repeats: int = 10) -> float:
    """fp32 GFLOP/s of square matrix multiplies, best of several rounds: about the
    most this CPU does with torch (the best round, because other load only slows it)."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = 0.0
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = max(best, 2 * n**3 * repeats / (time.perf_counter() - t0) / 1e9)
    return best


def model_work(model: str, sentences_file: Path) -> dict:
    """Tokens the model sees and the weights of its linear layers: the matrix work of one pass."""
    import torch

    from persian_stance.infer.predictor import Predictor

    p = Predictor.load(model, device="cpu")
    tokens = sum(len(p.preparer.prepare(s).features.input_ids)
                 for s in json.loads(sentences_file.read_text(encoding="utf-8")))
    params = sum(m.weight.numel() for m in p.model.encoder.modules() if isinstance(m, torch.nn.Linear))
    return {"tokens": tokens, "linear_params": params, "gflop": 2 * params * tokens / 1e9}


def render(results: dict) -> str:
    base = results.get("naive", {}).get("sentences_per_second")
    fp32 = results.get("fp32", {}).get("sentences_per_second")
    lines = ["| mode | sentences | seconds | sentences/s | × naive | × fp32 | peak RSS (MB) | load (s) | "
             "GFLOP/s (linear) | dev topic macro-F1 | dev stance macro-F1 |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for mode, r in results.items():
        sps = r["sentences_per_second"]
        dev = r.get("dev", {})
        lines.append(
            f"| {mode} | {r['sentences']} | {r['seconds']:.1f} | {sps:.1f} | "
            f"{sps / base:.2f} | " if base else f"| {mode} | {r['sentences']} | {r['seconds']:.1f} | {sps:.1f} | – | ")
        lines[-1] += (f"{sps / fp32:.2f} | " if fp32 else "– | ") + \
            f"{r['peak_rss_mb']:.0f} | {r['load_seconds']:.1f} | {r.get('linear_gflop_per_second', 0):.0f} | " + \
            (f"{dev['topic_macro_f1']:.3f} | {dev['stance_macro_f1']:.3f} |" if dev else "– | – |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
