"""Labelling speed and memory: naive vs batched fp32 vs batched int8, torch and ONNX Runtime.

    python benchmarks/label_speed.py                      # the real article pool
    python benchmarks/label_speed.py --input my_folder/   # .txt files or a .jsonl of articles

All modes label the same sentences (the articles segmented once, up front)
with the same checkpoint, each in its own process so that peak memory is
measured per mode:

- reference: the bare encoder forward pass in torch fp32 — tokenisation
  included, sentences sorted by length, batches of 32, the checkpoint's max
  length, no heads, no actor detection, no I/O: the practical limit of the
  torch path, of which every mode's speed is also given as a multiple;
- naive: one sentence per call, no batching (``predict([s])``);
- fp32: sentences fed as the label command feeds them, in groups of
  ``--group-batches`` batches (default: its own), each group sorted by length
  and batched (``--batch-size``);
- int8: the same with int8 dynamic quantisation of the linear layers;
- onnx-fp32, onnx-int8: the same end to end with the encoder in ONNX Runtime
  (``backend="onnx"``; batches of ``--onnx-batch-size``, by default the
  label command's, as for the torch modes), its export built
  into the cache first if it is not there (the build is not timed);
- MODE-workers (for fp32, int8, onnx-fp32, onnx-int8): MODE labelled the way
  ``persian-stance label`` does it by default on a CPU: ``--workers`` processes
  (default: one per core) with the cores shared among them, this process
  normalising the sentences and handing out groups (``infer/workers.py``).
  Timed from the first group handed out to the last result back (the workers'
  start and model loads are not, as for the other modes); peak memory is the
  sum over this process and its workers.

On a busy machine, ``--rounds N`` times each mode N times and keeps the fastest
run (other load only slows a run down); the rounds are interleaved (every mode
once, then every mode again), each run in a fresh process, so that a slow
spell falls on all modes alike. Ratios within one run are what count; the
JSON keeps every round's time.

After the modes, the time to first label: from the start of a
``persian-stance label ARTICLE --out -`` process to its first output line, per
backend and precision (the ONNX exports already cached).

Times include normalisation, actor detection and tokenisation. The table also
gives the arithmetic each mode sustains: 2 × (weights of the encoder's linear
layers) × (real tokens, padding not counted) per second, a lower bound on the
model's FLOP rate, to compare with what the CPU can do at most. With
``--dev`` (default: ../shared/realnews/dev.jsonl when present) the fp32 and int8
modes (and the ONNX ones) also report topic and stance macro-F1 there, to show what
quantisation and the ONNX engine cost in quality, and the share of dev sentences
whose labels (topics, actors, stances) are those of the torch fp32 mode. Prints a table; ``--json`` writes the figures too.
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
ONE_ARTICLE = ROOT / "seeds" / "000_ceb40c46ca905291.txt"
REFERENCE_BATCH = 32


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


def best_of(rounds: int, work) -> float:
    """Seconds of the fastest of ``rounds`` runs of ``work()``: other load on the
    machine only ever slows a run down, so the fastest is the least disturbed."""
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        work()
        times.append(time.perf_counter() - t0)
    return min(times)


def reference_worker(model: str, sentences: list[str], threads: int | None, rounds: int = 1) -> dict:
    """The bare encoder in torch fp32: tokenise, sort by length, batches of 32, forward."""
    import torch

    from persian_stance.infer.predictor import Predictor

    t0 = time.perf_counter()
    predictor = Predictor.load(model, threads=threads, device="cpu")
    load_s = time.perf_counter() - t0
    encoder, tokenizer = predictor.model.encoder, predictor.tokenizer
    prefix, max_length = predictor.config.encoder.text_prefix, predictor.max_length

    def run(texts: list[str]) -> None:
        ids = tokenizer([prefix + t for t in texts], truncation=True, max_length=max_length)["input_ids"]
        ids.sort(key=len)
        with torch.inference_mode():
            for b in range(0, len(ids), REFERENCE_BATCH):
                batch = tokenizer.pad({"input_ids": ids[b:b + REFERENCE_BATCH]}, return_tensors="pt")
                encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])

    run(sentences[:8])  # warm-up
    seconds = best_of(rounds, lambda: run(sentences))
    return {"mode": "reference", "sentences": len(sentences), "seconds": seconds,
            "sentences_per_second": len(sentences) / seconds, "load_seconds": load_s, "peak_rss_mb": peak_rss_mb(),
            "batch_size": REFERENCE_BATCH}


def pool_worker(mode: str, model: str, sentences: list[str], batch_size: int, threads: int | None, workers: int | None,
                rounds: int = 1, *, group_batches: int) -> dict:
    """``mode`` (one of the single-process modes) run by a ``WorkerPool``, as the
    label command runs it with ``--workers``."""
    from persian_stance.infer.checkpoint import read_config
    from persian_stance.infer.predictor import resolve_model
    from persian_stance.infer.prepare import Preparer
    from persian_stance.infer.workers import WorkerPool, available_cores, group_size, threads_per_worker

    base = mode.removesuffix("-workers")
    cores = threads or available_cores()
    workers = workers or cores
    load = {"path_or_preset": model, "batch_size": batch_size, "quantize": base.endswith("int8"),
            "threads": threads_per_worker(cores, workers), "device": "cpu",
            "backend": "onnx" if base.startswith("onnx-") else "torch"}
    chunk = group_size(batch_size, group_batches)  # the label command's groups
    preparer = Preparer(read_config(resolve_model(model)).normalizer)
    t0 = time.perf_counter()
    pool = WorkerPool(workers, load, chunk)
    try:
        pool.wait_ready(lambda: False)
        load_s = time.perf_counter() - t0

        def run(texts: list[str]) -> None:
            # One group per chunk of sentences, each sentence an article of its own.
            whole = [[s] for s in map(preparer.sentence, texts) if s is not None]
            groups = ((None, whole[i:i + chunk]) for i in range(0, len(whole), chunk))
            for _, outcome in pool.label(groups, lambda: False, lambda n: None):
                if outcome[0] != "ok":
                    raise RuntimeError(f"{mode}: a group was not labelled: {outcome}")

        run(sentences[:8])  # warm-up
        seconds = best_of(rounds, lambda: run(sentences))
        peak = peak_rss_mb() + sum(process_peak_rss_mb(p.pid) for p in pool.procs)
    finally:
        pool.close()
    return {"mode": mode, "sentences": len(sentences), "seconds": seconds,
            "sentences_per_second": len(sentences) / seconds, "load_seconds": load_s, "peak_rss_mb": peak,
            "batch_size": batch_size, "workers": workers, "threads_per_worker": load["threads"]}


def process_peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a running process (Linux ``VmHWM``), 0 where unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def worker(mode: str, model: str, sentences_file: Path, batch_size: int, dev: str | None, threads: int | None,
           onnx_batch_size: int = 16, rounds: int = 1, workers: int | None = None,
           *, group_batches: int) -> dict:
    from persian_stance.infer.predictor import Predictor
    from persian_stance.infer.workers import group_size

    sentences = json.loads(sentences_file.read_text(encoding="utf-8"))
    if mode == "reference":
        return reference_worker(model, sentences, threads, rounds)
    if mode.endswith("-workers"):
        return pool_worker(mode, model, sentences, onnx_batch_size if mode.startswith("onnx-") else batch_size,
                           threads, workers, rounds, group_batches=group_batches)
    backend = "onnx" if mode.startswith("onnx-") else "torch"
    if backend == "onnx":
        batch_size = onnx_batch_size
    t0 = time.perf_counter()
    predictor = Predictor.load(model, batch_size=1 if mode == "naive" else batch_size,
                               quantize=mode in ("int8", "onnx-int8"), threads=threads, device="cpu", backend=backend)
    load_s = time.perf_counter() - t0
    predictor.predict(sentences[:8])  # warm-up

    def run() -> None:
        if mode == "naive":
            for s in sentences:
                predictor.predict([s])
        else:
            # in the label command's groups, each sorted by length and cut into batches
            chunk = group_size(predictor.batch_size, group_batches)
            for i in range(0, len(sentences), chunk):
                predictor.predict(sentences[i:i + chunk])

    seconds = best_of(rounds, run)
    out = {"mode": mode, "sentences": len(sentences), "seconds": seconds,
           "sentences_per_second": len(sentences) / seconds, "load_seconds": load_s, "peak_rss_mb": peak_rss_mb(),
           "batch_size": predictor.batch_size}
    if dev and mode != "naive":
        from persian_stance.train.evaluate import score_predictor
        from persian_stance.train.records import load_records

        records = load_records([dev])
        scores = score_predictor(predictor, records)
        out["dev"] = {k: scores[k] for k in ("topic_macro_f1", "stance_macro_f1", "actor_f1", "pair_f1")}
        # Each sentence's labels, for the label-for-label comparison across modes.
        out["dev_labels"] = [[r.topic_labels, [[a.actor, a.stance] for a in r.actors]]
                             for r in predictor.predict([r.text for r in records])]
    return out


def time_to_first_label(article: Path, backend: str, quantize: bool, threads: int | None) -> float:
    """Seconds from starting ``persian-stance label ARTICLE --out -`` to its first output line."""
    cmd = [str(Path(sys.executable).parent / "persian-stance"), "label", str(article), "--out", "-",
           "--no-progress", "--backend", backend] + (["--quantize"] if quantize else []) + \
        (["--threads", str(threads)] if threads else [])
    t0 = time.perf_counter()
    # Bytes: a text-mode readline followed by communicate() would split a UTF-8 character.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    seconds = time.perf_counter() - t0
    _, err = proc.communicate()
    if proc.returncode != 0 or not first.strip():
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err.decode(errors='replace')[-2000:]}")
    return seconds


def agreement(a: list, b: list) -> float:
    """Share of sentences whose labels (topics, actors and stances) are the same in both."""
    return sum(x == y for x, y in zip(a, b)) / len(a)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", type=Path, default=DEFAULT_INPUT, help="folder of .txt or .jsonl of articles")
    ap.add_argument("--model", default="default")
    ap.add_argument("--max-sentences", type=int, help="label only the first N sentences")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--dev", default=str(DEFAULT_DEV) if DEFAULT_DEV.is_file() else None,
                    help="labelled file for the fp32/int8 quality check ('' to skip)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="time each mode this many times, rounds interleaved across modes, and keep the fastest "
                         "(a busy machine only slows runs)")
    ap.add_argument("--onnx-batch-size", type=int,
                    help="batch size of the onnx modes (default: --batch-size, which is the label command's)")
    ap.add_argument("--modes", default="reference,naive,fp32,int8,onnx-fp32,onnx-int8,onnx-fp32-workers,onnx-int8-workers")
    ap.add_argument("--workers", type=int, help="processes of the MODE-workers modes (default: one per core)")
    ap.add_argument("--first-label", default="torch,onnx,torch-int8,onnx-int8",
                    help="backends whose time to first label is measured ('' to skip)")
    ap.add_argument("--group-batches", type=int,
                    help="batches' worth of sentences per group (default: the label command's, "
                         "infer/workers.py GROUP_BATCHES)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--_worker", help=argparse.SUPPRESS)
    ap.add_argument("--_sentences", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.onnx_batch_size = args.onnx_batch_size or args.batch_size
    from persian_stance.infer.workers import GROUP_BATCHES

    args.group_batches = args.group_batches or GROUP_BATCHES  # resolved once; every worker gets it

    if args._worker:
        print(json.dumps(worker(args._worker, args.model, args._sentences, args.batch_size, args.dev or None,
                                args.threads, args.onnx_batch_size, args.rounds, args.workers,
                                group_batches=args.group_batches)))
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
    modes = args.modes.split(",")
    for mode in modes:
        if mode.startswith("onnx-"):
            mode_engine = mode.removesuffix("-workers")
            # Build the export (once per checkpoint and precision) in a process of its
            # own, so that neither its time nor its memory counts in the mode's.
            print(f"building the {mode} export if it is not cached …", file=sys.stderr, flush=True)
            subprocess.run([sys.executable, "-c", "import sys; from persian_stance.infer.predictor import Predictor; "
                            "Predictor.load(sys.argv[1], backend='onnx', quantize=sys.argv[2] == 'onnx-int8')",
                            args.model, mode_engine], check=True, capture_output=True)
    # Rounds are interleaved (every mode once, then every mode again), so that
    # a slow spell of a shared machine falls on all modes alike rather than on
    # whichever mode ran through it; each mode keeps its fastest round.
    results: dict = {}
    for round_ in range(args.rounds):
        for mode in modes:
            cmd = [sys.executable, __file__, "--_worker", mode, "--_sentences", str(tmp), "--model", args.model,
                   "--batch-size", str(args.batch_size), "--onnx-batch-size", str(args.onnx_batch_size),
                   "--rounds", "1",
                   "--dev", (args.dev or "") if round_ == 0 else ""]  # the F1 is the same every round
            if args.threads:
                cmd += ["--threads", str(args.threads)]
            if args.workers:
                cmd += ["--workers", str(args.workers)]
            cmd += ["--group-batches", str(args.group_batches)]
            print(f"round {round_ + 1}/{args.rounds}: running {mode} …", file=sys.stderr, flush=True)
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                print(proc.stderr[-3000:], file=sys.stderr)
                return 1
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            best = results.setdefault(mode, r)
            if r is not best:
                best["peak_rss_mb"] = max(best["peak_rss_mb"], r["peak_rss_mb"])
                best["load_seconds"] = min(best["load_seconds"], r["load_seconds"])
                if r["seconds"] < best["seconds"]:
                    for k in ("seconds", "sentences_per_second"):
                        best[k] = r[k]
            best.setdefault("round_seconds", []).append(round(r["seconds"], 3))
    first_label = {}
    for name in filter(None, args.first_label.split(",")):
        print(f"time to first label, {name} …", file=sys.stderr, flush=True)
        first_label[name] = min(time_to_first_label(ONE_ARTICLE, name.split("-")[0], name.endswith("-int8"),
                                                    args.threads) for _ in range(args.rounds))
    work = model_work(args.model, tmp, args.onnx_batch_size, args.group_batches)
    for r in results.values():
        r["linear_gflop_per_second"] = work["gflop"] / r["seconds"]
    for mode, r in results.items():
        if "dev_labels" in r and "dev_labels" in results.get("fp32", {}):
            r["dev_identical_to_torch_fp32"] = agreement(r["dev_labels"], results["fp32"]["dev_labels"])
    results["_work"] = work
    results["_first_label_seconds"] = first_label
    results["_command"] = " ".join(["python", "benchmarks/label_speed.py", *sys.argv[1:]])
    results["_cpu"] = {"matmul_gflop_per_second": matmul_gflops()}
    print(f"{work['tokens']} tokens ({work['tokens'] / len(sentences):.1f} a sentence), "
          f"{work['linear_params'] / 1e6:.1f} M weights in linear layers → {work['gflop']:.0f} GFLOP of matrix work",
          file=sys.stderr)
    print(f"padding: the label command's groups of {work['group_size']} sentences read "
          f"{work['padded_tokens_label_groups'] / work['tokens']:.2f}× the real tokens at batch {args.onnx_batch_size}; "
          f"the reference's one sort {work['padded_tokens_reference'] / work['tokens']:.2f}× at batch {REFERENCE_BATCH}",
          file=sys.stderr)
    print(f"this CPU's fp32 matrix multiply (1024×1024, torch, best round): {results['_cpu']['matmul_gflop_per_second']:.0f} GFLOP/s",
          file=sys.stderr)
    print(render({k: v for k, v in results.items() if not k.startswith("_")}))
    if first_label:
        print("\n| time to first label (one article, `persian-stance label … --out -`) | seconds |\n|---|---|")
        for name, seconds in first_label.items():
            print(f"| {name} | {seconds:.1f} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
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


def model_work(model: str, sentences_file: Path, batch_size: int, group_batches: int) -> dict:
    """Tokens the model sees and the weights of its linear layers: the matrix work of one pass.
    Also the tokens a forward pass reads once padded: with the label command's
    groups (each sorted by length, cut into batches of ``batch_size``) and with
    the reference's one sort of all sentences (batches of 32)."""
    import torch

    from persian_stance.infer.predictor import Predictor
    from persian_stance.infer.workers import group_size

    p = Predictor.load(model, device="cpu")
    lengths = [len(p.preparer.prepare(s).features.input_ids)
               for s in json.loads(sentences_file.read_text(encoding="utf-8"))]
    tokens = sum(lengths)
    params = sum(m.weight.numel() for m in p.model.encoder.modules() if isinstance(m, torch.nn.Linear))
    chunk = group_size(batch_size, group_batches)
    return {"tokens": tokens, "linear_params": params, "gflop": 2 * params * tokens / 1e9,
            "padded_tokens_label_groups": padded_tokens(lengths, chunk, batch_size),
            "padded_tokens_reference": padded_tokens(lengths, len(lengths), REFERENCE_BATCH),
            "group_size": chunk}


def padded_tokens(lengths: list[int], group: int, batch: int) -> int:
    """Tokens read when ``lengths`` are taken ``group`` at a time, each group
    sorted and cut into batches padded to their longest sentence."""
    total = 0
    for g in range(0, len(lengths), group):
        ordered = sorted(lengths[g:g + group])
        for b in range(0, len(ordered), batch):
            total += ordered[min(b + batch, len(ordered)) - 1] * len(ordered[b:b + batch])
    return total


def render(results: dict) -> str:
    ref = results.get("reference", {}).get("sentences_per_second")
    base = results.get("naive", {}).get("sentences_per_second")
    fp32 = results.get("fp32", {}).get("sentences_per_second")

    def ratio(sps: float, of: float | None) -> str:
        return f"{sps / of:.2f}" if of else "–"

    lines = ["| mode | batch | sentences | seconds | sentences/s | × reference | × naive | × fp32 | peak RSS (MB) | "
             "load (s) | GFLOP/s (linear) | dev topic macro-F1 | dev stance macro-F1 | dev labels = torch fp32 |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for mode, r in results.items():
        sps = r["sentences_per_second"]
        dev = r.get("dev", {})
        same = r.get("dev_identical_to_torch_fp32")
        if "workers" in r:
            mode = f"{mode} ({r['workers']} × {r['threads_per_worker']} thread{'s' if r['threads_per_worker'] > 1 else ''})"
        lines.append(
            f"| {mode} | {r.get('batch_size', '–')} | {r['sentences']} | {r['seconds']:.1f} | {sps:.1f} | "
            f"{ratio(sps, ref)} | {ratio(sps, base)} | {ratio(sps, fp32)} | {r['peak_rss_mb']:.0f} | "
            f"{r['load_seconds']:.1f} | {r.get('linear_gflop_per_second', 0):.0f} | "
            + (f"{dev['topic_macro_f1']:.3f} | {dev['stance_macro_f1']:.3f} | " if dev else "– | – | ")
            + (f"{same:.1%} |" if same is not None else "– |"))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
