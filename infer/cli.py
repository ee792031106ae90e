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
    p.add_argument("--batch-size", type=_int_in(1), default=16, help="sentences per forward pass (default: 16)")
    p.add_argument("--max-length", type=_int_in(*MAX_LENGTH_RANGE),
                   help="maximum tokens per sentence (default: the model's)")
    p.add_argument("--max-chars", type=_int_in(1), default=200_000, help="longest article accepted (default: 200000)")
    p.add_argument("--backend", choices=["torch", "onnx"], default="torch",
                   help="engine for the encoder: torch, or onnx (ONNX Runtime, CPU; exported into the cache on "
                        "first use) (default: torch)")
    p.add_argument("--quantize", action="store_true",
                   help="int8 dynamic quantisation of the encoder (CPU, either backend): faster, smaller")
    p.add_argument("--threads", type=_int_in(1), help="CPU threads (torch, and ONNX Runtime with --backend onnx)")
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
    from .outputs import RECORD_FIELDS, ExistingOutput, Writer, error_record, id_key, sentence_record
    from .predictor import NonFiniteOutput, Predictor

    kept = tuple(f.strip() for f in args.keep_fields.split(",") if f.strip())
    clash = [f for f in kept if f in RECORD_FIELDS]
    if clash:
        print(f"--keep-fields: {', '.join(clash)} would overwrite field(s) of the output record "
              f"({', '.join(RECORD_FIELDS)})", file=sys.stderr)
        return 2
    check_out(args.out)  # before the model loads: a wrong --out should not cost a model load
    if args.skip_failed and not args.resume:
        raise UserError("--skip-failed is a choice of --resume; give both")
    counts: Counter = Counter()
    fmt = args.format or ("csv" if str(args.out).lower().endswith(".csv") else "jsonl")
    opts = InputOptions(id_field=args.id_field, text_field=args.text_field, encoding=args.encoding,
                        input_format=args.input_format, max_chars=args.max_chars, keep_fields=kept)
    skip, counts["retried"] = _resume(args, fmt, kept, opts) if args.resume and args.out != "-" else (set(), 0)
    t0 = time.time()
    # transformers draws its own per-tensor loading bar; ours reports the load time.
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    predictor = Predictor.load(args.model, batch_size=args.batch_size, max_length=args.max_length,
                               quantize=args.quantize, threads=args.threads, backend=args.backend)
    print(f"model {args.model} loaded in {time.time() - t0:.1f} s ({args.backend}, "
          f"{'int8' if args.quantize else 'fp32'})", file=sys.stderr)
    writer = Writer(args.out, fmt, append=args.resume, kept_fields=kept)
    stop = _Stop()
    old_handlers = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    errors: Counter = Counter()
    progress = None
    if not args.no_progress:
        from tqdm import tqdm

        # Counted in sentences, per forward pass: one long article moves the bar too.
        progress = tqdm(unit=" sentences", file=sys.stderr, dynamic_ncols=True)
    t_start = time.time()
    # Items waiting to be labelled together, with their sentences; a few batches'
    # worth of sentences per pass keeps padding low.
    pending: list = []
    chunk = args.batch_size * 4

    def on_batch(n: int) -> None:
        if progress is not None:
            progress.update(n)
        if stop.requested:
            raise _Interrupted

    def flush() -> None:
        """Label the pending items and write each whole; when stopped midway,
        write only the error records, and none of the articles begun."""
        work = [(k, s) for k, (item, sents) in enumerate(pending) if not item.error for s in sents]
        labelled: dict[int, list] = {k: [] for k, (item, _) in enumerate(pending) if not item.error}
        interrupted = False
        try:
            # In slices, so that one huge article is never prepared or labelled
            # in a single call that a stop request cannot interrupt.
            for b in range(0, len(work), chunk):
                part = work[b:b + chunk]
                [result] = predictor.predict_segmented([[s for _, s in part]], on_batch=on_batch)
                for (k, _), r in zip(part, result.sentences):
                    labelled[k].append(r)
        except _Interrupted:
            interrupted = True
        except NonFiniteOutput as e:
            # Which article of the slice gave NaN is not known; none of them is written.
            for item, _ in pending:
                item.error = item.error or f"not labelled: {e} (in the batch that held this item)"
        for k, (item, sents) in enumerate(pending):
            if item.error:
                writer.write_block([error_record(item)])
                errors[_reason(item.error)] += 1
                counts["failed"] += 1
            elif not interrupted:
                writer.write_block([sentence_record(item, r) for r in labelled[k]])
                counts["articles"] += 1
                counts["sentences"] += len(sents)
        if progress is not None:
            progress.set_postfix_str(f"{counts['articles']} items labelled, {counts['failed']} failed")
        pending.clear()

    seen: dict[str, tuple] = {}  # id key → (where this run first met it, the id as it was there)
    try:
        buffered = 0
        for item in iter_items(args.inputs, opts):
            key = id_key(item.id, fmt)
            if key in seen:
                # An error, never a skip: the output could not tell the two apart,
                # and --resume would take the second for done.
                where, first = seen[key]
                also = "" if first == item.id else f" as {first!r}; a CSV cell cannot tell them apart: write JSON Lines"
                item.error, item.text = f"duplicate id {item.id!r} (first at {where}{also})", None
            else:
                seen[key] = (item.file if item.line is None else f"{item.file}:{item.line}", item.id)
                if key in skip:
                    counts["skipped"] += 1
                    continue
            sents = []
            if not item.error:
                sents = predictor.segment(item.text, split=not args.sentences, dedupe=not args.keep_duplicates)
                if not sents:
                    item.error = "no sentences left after boilerplate removal"
            if pending and buffered + len(sents) > chunk:
                # a long article waits for no one, and no one waits for it
                flush()
                buffered = 0
            pending.append((item, sents))
            buffered += len(sents)
            if buffered >= chunk:
                flush()
                buffered = 0
            if stop.requested:
                break
        flush()
    finally:
        for s, h in old_handlers.items():
            signal.signal(s, h)
        if progress is not None:
            progress.close()
        writer.close()
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
