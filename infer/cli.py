"""``persian-stance label``: label articles or sentences in batch.

    persian-stance label seeds/ --out labels.jsonl
    persian-stance label news.jsonl --text-field body --id-field url --out labels.csv
    cat article.txt | persian-stance label - --out -

One output record per sentence, written as each article finishes. Bad input
(empty, binary, wrongly encoded, not Persian, too long, a malformed JSON line
or CSV row) becomes an error record and the batch goes on; the exit status is
1 when any item failed, 0 otherwise.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Iterator

from .encoders import MAX_LENGTH_RANGE


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help=".txt article, folder of .txt files, .jsonl or .csv file, or - for standard input")
    p.add_argument("--out", required=True, help="output file (.jsonl or .csv), or - for standard output")
    p.add_argument("--model", default="default", help="checkpoint folder (default: the shipped model)")
    p.add_argument("--format", choices=["jsonl", "csv"], help="output format (default: from --out's extension)")
    p.add_argument("--sentences", action="store_true", help="each record is one sentence: do not split it")
    p.add_argument("--id-field", default="id", help="id field of .jsonl/.csv input (default: id)")
    p.add_argument("--text-field", default="text", help="text field of .jsonl/.csv input (default: text)")
    p.add_argument("--input-format", default="auto", choices=["auto", "txt", "jsonl", "csv"],
                   help="how to read inputs (default: by extension; standard input is one .txt article)")
    p.add_argument("--keep-fields", default="", metavar="FIELD,…",
                   help="input fields (.jsonl/.csv) to copy into every output record, e.g. date,source,url; "
                        "'persian-stance report' reads date and source")
    p.add_argument("--encoding", default="utf-8", help="input encoding (default: utf-8)")
    p.add_argument("--resume", action="store_true",
                   help="append to --out: skip ids already labelled in it, try again the ones that failed "
                        "(their error records are replaced)")
    p.add_argument("--skip-failed", action="store_true",
                   help="with --resume, skip the ids that failed too (keep their error records)")
    p.add_argument("--batch-size", type=_int_in(1),
                   help="sentences per forward pass (default: 16 on the CPU, 128 on a GPU)")
    p.add_argument("--max-length", type=_int_in(*MAX_LENGTH_RANGE),
                   help="maximum tokens per sentence (default: the model's)")
    p.add_argument("--max-chars", type=_int_in(1), default=200_000, help="longest article accepted (default: 200000)")
    p.add_argument("--backend", choices=["torch", "onnx"], default="torch",
                   help="engine for the encoder: torch, or onnx (ONNX Runtime, CPU; exported into the cache on "
                        "first use) (default: torch)")
    p.add_argument("--quantize", action="store_true",
                   help="int8 dynamic quantisation of the encoder (CPU, either backend): faster, smaller")
    p.add_argument("--threads", type=_int_in(1),
                   help="CPU threads for torch, per worker (default: the cores divided among the workers)")
    p.add_argument("--workers", type=_int_in(1),
                   help="processes labelling at once, each with its own model and share of the threads "
                        "(default: one per core, as many as memory holds at 1.5 GB each; one on a GPU or "
                        "for a single article); the output is the same")
    p.add_argument("--device", choices=["cpu", "cuda"],
                   help="where the model runs (default: cuda when torch sees a GPU, unless --quantize)")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "bf16"],
                   help="autocast dtype of the forward pass (default auto: fp16 on cuda, fp32 on the CPU)")
    p.add_argument("--keep-duplicates", action="store_true", help="label sentences repeated within an article")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _int_in(lo: int, hi: int | None = None):
    """An argparse type: an integer in [lo, hi], refused at parse time, before
    the model loads, with the allowed range."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < lo or (hi is not None and value > hi):
            allowed = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
            raise argparse.ArgumentTypeError(f"must be {allowed}, not {value}")
        return value

    return parse


def main(argv: list[str] | None = None) -> int:
    from .errors import add_common_arguments, run_command, version

    parser = argparse.ArgumentParser(prog="persian-stance-label", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=version())
    add_arguments(parser)
    add_common_arguments(parser)
    return run_command(run, parser.parse_args(argv))


class _Stop:
    """SIGTERM and Ctrl-C stop at the end of the current forward pass (a
    fraction of a second): the articles already labelled are written, the one
    being labelled is not (--resume labels it); a second signal stops at once."""

    def __init__(self):
        self.requested = False

    def __call__(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True


class _Interrupted(Exception):
    """Raised between two forward passes once a stop was requested."""


def check_out(out: str) -> None:
    """Raise a UserError when ``--out`` cannot be written as a file."""
    from .errors import UserError

    if out == "-":
        return
    path = Path(out)
    if path.is_dir():
        raise UserError(f"--out {out} is a folder; give a file name (.jsonl or .csv)")
    if not path.parent.is_dir():
        raise UserError(f"--out {out}: folder {path.parent} does not exist")
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        raise UserError(f"--out {out}: no permission to write there")


def run(args: argparse.Namespace) -> int:
    from .errors import UserError
    from .inputs import InputOptions, iter_items
    from .outputs import RECORD_FIELDS, Writer
    from .predictor import DEFAULT_BATCH_SIZE, device_type, resolve_device
    from .workers import (available_cores, available_memory, default_workers, group_items, group_records, group_size,
                          threads_per_worker)

    kept = tuple(f.strip() for f in args.keep_fields.split(",") if f.strip())
    clash = [f for f in kept if f in RECORD_FIELDS]
    if clash:
        print(f"--keep-fields: {', '.join(clash)} would overwrite field(s) of the output record "
              f"({', '.join(RECORD_FIELDS)})", file=sys.stderr)
        return 2
    check_out(args.out)  # before the model loads: a wrong --out should not cost a model load
    if args.skip_failed and not args.resume:
        raise UserError("--skip-failed is a choice of --resume; give both")
    # Device, precision and the worker split are checked before anything loads.
    if args.backend == "onnx" and args.device == "cuda":
        raise UserError("--backend onnx runs on the CPU; on a GPU use --backend torch --device cuda")
    try:
        # ONNX Runtime runs here on the CPU, so it picks the CPU as int8 does
        device = resolve_device(args.device, quantize=args.quantize or args.backend == "onnx")
    except UserError as e:
        raise UserError(f"--device: {e}") from None
    if args.quantize and args.precision not in ("auto", "fp32"):
        raise UserError(f"--quantize computes in int8 and fp32; --precision {args.precision} does not apply")
    if device_type(device) != "cpu" and (args.workers or 1) > 1:
        raise UserError(f"--workers {args.workers} is for the CPU: one process feeds the GPU ({device}); "
                        "leave out --workers, or use --device cpu")
    if args.precision == "fp16" and device_type(device) != "cuda":
        raise UserError("--precision fp16 needs --device cuda; on the CPU use bf16 or fp32")
    cores = available_cores()
    one_article = len(args.inputs) == 1 and (args.inputs[0] == "-" or args.inputs[0].lower().endswith(".txt"))
    workers = args.workers or default_workers(cores, device_type(device), memory=available_memory(),
                                              one_article=one_article)
    threads = args.threads or (threads_per_worker(cores, workers) if device_type(device) == "cpu" else None)
    batch_size = args.batch_size or DEFAULT_BATCH_SIZE[device_type(device)]
    counts: Counter = Counter()
    fmt = args.format or ("csv" if str(args.out).lower().endswith(".csv") else "jsonl")
    opts = InputOptions(id_field=args.id_field, text_field=args.text_field, encoding=args.encoding,
                        input_format=args.input_format, max_chars=args.max_chars, keep_fields=kept)
    skip, counts["retried"] = _resume(args, fmt, kept, opts) if args.resume and args.out != "-" else (set(), 0)
    t0 = time.time()
    load = dict(path_or_preset=args.model, device=device, batch_size=batch_size, max_length=args.max_length,
                quantize=args.quantize, threads=threads, precision=args.precision, backend=args.backend)
    stop = _Stop()
    old_handlers = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    labeller = None
    writer = None
    progress = None
    try:
        labeller = _InProcess(load) if workers == 1 else _Workers(load, workers, group_size(batch_size))
        if not labeller.start(lambda: stop.requested):
            print("stopped before the model was loaded; nothing was written", file=sys.stderr)
            return 130
        where = f"on {device}" if workers == 1 else f"in {workers} workers × {threads} thread(s)"
        print(f"model {args.model} loaded {where} in {time.time() - t0:.1f} s", file=sys.stderr)
        # Opened only now: a model that does not load must not cost the user an emptied --out.
        writer = Writer(args.out, fmt, append=args.resume, kept_fields=kept)
        errors: Counter = Counter()
        if not args.no_progress:
            from tqdm import tqdm

            # Counted in sentences, per forward pass: one long article moves the bar too.
            progress = tqdm(unit=" sentences", file=sys.stderr, dynamic_ncols=True)
        t_start = time.time()

        def on_batch(n: int) -> None:
            if progress is not None:
                progress.update(n)
            if stop.requested:
                raise _Interrupted

        def write(group: list, outcome: tuple) -> None:
            """Write a labelled group, each article whole; when the labelling was
            stopped midway, only its error records, and none of the articles begun."""
            for item, block in group_records(group, outcome):
                writer.write_block(block)
                if item.error:
                    errors[_reason(item.error)] += 1
                    counts["failed"] += 1
                else:
                    counts["articles"] += 1
                    counts["sentences"] += len(block)
            if progress is not None:
                progress.set_postfix_str(f"{counts['articles']} items labelled, {counts['failed']} failed")

        items = _unique(iter_items(args.inputs, opts), fmt, skip, counts)
        groups = group_items(items, labeller.segment, group_size(batch_size), split=not args.sentences,
                             dedupe=not args.keep_duplicates, stopped=lambda: stop.requested)
        for group, outcome in labeller.label(groups, on_batch, lambda: stop.requested):
            write(group, outcome)
    finally:
        for s, h in old_handlers.items():
            signal.signal(s, h)
        if progress is not None:
            progress.close()
        if writer is not None:
            writer.close()
        if labeller is not None:
            labeller.close(now=stop.requested)
    elapsed = time.time() - t_start
    summary = (f"{counts['articles']} item(s) labelled, {counts['sentences']} sentences "
               f"({counts['sentences'] / max(elapsed, 1e-9):.1f} sent/s), {counts['failed']} failed, "
               f"{counts['skipped']} skipped and {counts['retried']} tried again (--resume)")
    print(summary, file=sys.stderr)
    for reason, n in errors.most_common():
        print(f"  failed: {n} × {reason}", file=sys.stderr)
    if stop.requested:
        print(f"stopped early; {args.out} holds every finished item (use --resume to continue)", file=sys.stderr)
        return 130
    return 1 if counts["failed"] else 0


def _unique(items, fmt: str, skip: set[str], counts: Counter) -> Iterator:
    """The items in input order, a repeated id made an error record (never a
    skip: the output could not tell the two apart, and --resume would take the
    second for done), the ids done in a resumed output left out."""
    from .outputs import id_key

    seen: dict[str, tuple] = {}  # id key → (where this run first met it, the id as it was there)
    for item in items:
        key = id_key(item.id, fmt)
        if key in seen:
            where, first = seen[key]
            also = "" if first == item.id else f" as {first!r}; a CSV cell cannot tell them apart: write JSON Lines"
            item.error, item.text = f"duplicate id {item.id!r} (first at {where}{also})", None
        else:
            seen[key] = (item.file if item.line is None else f"{item.file}:{item.line}", item.id)
            if key in skip:
                counts["skipped"] += 1
                continue
        yield item


class _InProcess:
    """Labels in this process (``--workers 1``): no second model load, no
    start-up of other processes, the first label soonest."""

    def __init__(self, load: dict):
        self.load = load
        self.predictor = None

    def start(self, stopped) -> bool:
        # transformers draws its own per-tensor loading bar; ours reports the load time.
        from transformers.utils import logging as hf_logging

        from .predictor import Predictor

        hf_logging.disable_progress_bar()
        self.predictor = Predictor.load(**self.load)
        return not stopped()

    def segment(self, text: str, **kw):
        return self.predictor.segment(text, **kw)

    def label(self, groups, on_batch, stopped):
        from .predictor import NonFiniteOutput
        from .workers import group_size, label_group

        chunk = group_size(self.predictor.batch_size)
        for group in groups:
            try:
                outcome = ("ok", label_group(self.predictor, [s for _, s in group], chunk, on_batch=on_batch))
            except _Interrupted:
                outcome = ("stopped", None)
            except NonFiniteOutput as e:
                outcome = ("nonfinite", str(e))
            yield group, outcome
            if outcome[0] == "stopped" or stopped():
                return

    def close(self, now: bool = False) -> None:
        pass


class _Workers:
    """Labels in worker processes (``--workers N``, ``infer/workers.py``); this
    process reads and segments the input and writes, in input order."""

    def __init__(self, load: dict, workers: int, chunk: int):
        from .checkpoint import read_config
        from .predictor import resolve_model
        from .prepare import Preparer

        # The checkpoint's own normaliser cuts the articles here, without a model:
        # a missing or damaged checkpoint is reported before any worker starts.
        self.preparer = Preparer(read_config(resolve_model(load["path_or_preset"])).normalizer)
        self.load, self.workers, self.chunk = load, workers, chunk
        self.pool = None

    def start(self, stopped) -> bool:
        from .workers import WorkerPool

        self.pool = WorkerPool(self.workers, self.load, self.chunk)
        return self.pool.wait_ready(stopped)

    def segment(self, text: str, **kw):
        from .predictor import segment_text

        return segment_text(self.preparer, text, **kw)

    def label(self, groups, on_batch, stopped):
        def progress(n: int) -> None:
            try:
                on_batch(n)
            except _Interrupted:
                pass  # seen by stopped() at the next message

        tagged = ((group, [s for _, s in group]) for group in groups)
        yield from self.pool.label(tagged, stopped, progress)

    def close(self, now: bool = False) -> None:
        if self.pool is not None:
            self.pool.close(now=now)


def _resume(args: argparse.Namespace, fmt: str, kept: tuple[str, ...], opts) -> tuple[set[str], int]:
    """The ids to skip in a resumed run, and how many failed ones are tried again.

    An item that failed (an error record) is tried again, unless --skip-failed:
    the cause may be gone (--encoding cp1256 given this time, a file fixed).
    Its error records are removed first, for the items this run's inputs hold;
    the new attempt writes its own record, labels or error.
    """
    from .errors import UserError
    from .inputs import iter_items
    from .outputs import ExistingOutput, id_key

    try:
        existing = ExistingOutput(args.out, fmt)
    except ValueError as e:
        raise UserError(f"--resume: {e}") from None
    if not existing.matches(kept):
        raise UserError(f"--resume: {args.out} has other columns ({', '.join(existing.header or [])}) than this "
                        "version writes with these --keep-fields; label into a new file")
    if args.skip_failed:
        existing.save()  # only the repair of a cut last article
        return existing.done | existing.failed, 0
    with_errors = {key for key, is_error, _ in existing.entries if is_error}
    retry: set[str] = set()
    if with_errors:
        if "-" in args.inputs and opts.stdin is None:
            opts.stdin = sys.stdin.buffer.read()  # read twice: here for the ids, then for the text
        retry = with_errors & {id_key(item.id, fmt) for item in iter_items(args.inputs, opts)}
    tried_again = len(existing.failed & retry)
    existing.save(drop_errors_of=retry)
    return existing.done, tried_again


def _reason(error: str) -> str:
    """An error message without its particulars, to count errors by kind."""
    if error.startswith("duplicate id"):
        return "duplicate id"
    return error.split(" (")[0].split(":")[0]


if __name__ == "__main__":
    sys.exit(main())
