"""``persian-stance label-ray``: label a sharded corpus on a Ray cluster.

    pip install "persian-stance[ray]"
    ray start --head            # or: an existing cluster (RAY_ADDRESS, --address)
    persian-stance label-ray /shared/news/ --out /shared/labels/ --actors 8

Ray Data reads the shards (``.jsonl``/``.ndjson`` or ``.parquet`` files in the
input folders), a pool of ``--actors`` Predictor actors labels them with
``map_batches`` (each actor loads the model once and holds it), and Ray Data
writes the records out as shards of JSON Lines, one record per sentence in the
schema of ``persian-stance label`` (``infer/outputs.py`` builds them), bad
input as error records.

What differs from the label command: ids are not checked for uniqueness across
shards (that would need every id in one place), and there is no ``--resume``:
a failed task is retried by Ray, and a stopped job is run again into an empty
output folder.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .cli import _int_in
from .encoders import MAX_LENGTH_RANGE

JSONL_SUFFIXES = ("jsonl", "ndjson")
LIGHT_CPUS = 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="folder (or file) of .jsonl/.ndjson or .parquet shards, local or on shared storage "
                        "(any path or URI Ray Data reads)")
    p.add_argument("--out", required=True, help="output folder for the JSON Lines shards (created; must be empty)")
    p.add_argument("--input-format", default="jsonl", choices=["jsonl", "parquet"],
                   help="shard format (default: jsonl)")
    p.add_argument("--model", default="default", help="checkpoint folder, readable on every node (default: shipped)")
    p.add_argument("--actors", type=_int_in(1), default=1, help="Predictor actors labelling at once (default: 1)")
    p.add_argument("--threads", type=_int_in(1), default=1,
                   help="CPU threads (and Ray CPUs reserved) per actor (default: 1; see --workers of label)")
    p.add_argument("--id-field", default="id", help="id field of the records (default: id)")
    p.add_argument("--text-field", default="text", help="text field of the records (default: text)")
    p.add_argument("--keep-fields", default="", metavar="FIELD,…", help="input fields to copy into every record")
    p.add_argument("--sentences", action="store_true", help="each record is one sentence: do not split it")
    p.add_argument("--keep-duplicates", action="store_true", help="label sentences repeated within an article")
    p.add_argument("--batch-size", type=_int_in(1), default=16, help="sentences per forward pass (default: 16)")
    p.add_argument("--max-length", type=_int_in(*MAX_LENGTH_RANGE),
                   help="maximum tokens per sentence (default: the model's)")
    p.add_argument("--max-chars", type=_int_in(1), default=200_000, help="longest article accepted (default: 200000)")
    p.add_argument("--quantize", action="store_true", help="int8 dynamic quantisation (CPU)")
    p.add_argument("--encoding", default="utf-8", help="encoding of the JSON Lines shards (default: utf-8)")
    p.add_argument("--address", help="Ray cluster to join (default: RAY_ADDRESS, else a local Ray on this machine)")


class _Labeller:
    """One Ray actor: a Predictor loaded once, labelling batches of items.

    A batch is the ``item`` column (JSON text of an ``Item``: ids keep their
    JSON type, which an Arrow column could not hold both of); it comes back as
    the ``record`` column, the JSON text of each output record, in item order.
    """

    def __init__(self, load: dict, chunk: int, split: bool, dedupe: bool):
        from transformers.utils import logging as hf_logging

        from .predictor import Predictor

        hf_logging.disable_progress_bar()
        self.predictor = Predictor.load(**load)
        self.chunk, self.split, self.dedupe = chunk, split, dedupe

    def __call__(self, batch: dict) -> dict:
        from .inputs import Item
        from .predictor import NonFiniteOutput
        from .workers import group_items, group_records, label_group

        items = [Item(**json.loads(text)) for text in batch["item"]]
        lines = []
        for group in group_items(items, self.predictor.segment, self.chunk, split=self.split, dedupe=self.dedupe):
            try:
                outcome = ("ok", label_group(self.predictor, [s for _, s in group], self.chunk))
            except NonFiniteOutput as e:
                outcome = ("nonfinite", str(e))
            for _, records in group_records(group, outcome):
                lines.extend(json.dumps(r, ensure_ascii=False) for r in records)
        return {"record": lines}


def _item_rows(items) -> list[dict]:
    from dataclasses import asdict

    return [{"item": json.dumps(asdict(item), ensure_ascii=False)} for item in items]


def label_ray(inputs: list[str] | str, out: str | Path, *, input_format: str = "jsonl", model: str = "default",
              actors: int = 1, threads: int = 1, id_field: str = "id", text_field: str = "text",
              keep_fields: tuple[str, ...] = (), sentences: bool = False, keep_duplicates: bool = False,
              batch_size: int = 16, max_length: int | None = None, max_chars: int = 200_000,
              quantize: bool = False, encoding: str = "utf-8", address: str | None = None) -> dict:
    """Label the shards under ``inputs`` into JSON Lines shards in the folder
    ``out``, with ``actors`` Predictor actors of ``threads`` CPUs each; returns
    counts (``records``, ``errors``, ``files``).

    Joins the Ray cluster at ``address`` (or ``RAY_ADDRESS``; else starts a
    local Ray) unless Ray is already initialised. Each JSON Lines shard is read
    whole by one task, as the label command reads a file, so record ids, line
    numbers and error records (a malformed line, a record without text) are
    the same; a Parquet row has no line number, so it needs its id field.
    """
    import ray
    import ray.data
    from ray.data.datasource import BlockBasedFileDatasink

    from .inputs import InputOptions, Item, _from_stream, item_from_record
    from .workers import group_size

    inputs = [str(p) for p in ([inputs] if isinstance(inputs, (str, Path)) else inputs)]
    out = str(out)
    if Path(out).exists() and any(Path(out).iterdir()):
        from .errors import UserError

        raise UserError(f"--out {out} is not empty: label-ray writes new shards into an empty folder")
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False)
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # the same shards, in the same order, every run
    ctx.enable_progress_bars = False
    opts = InputOptions(id_field=id_field, text_field=text_field, encoding=encoding, max_chars=max_chars,
                        keep_fields=tuple(keep_fields))

    # Reading, parsing and writing are light next to the model: they ask Ray for
    # no CPU, so that actors holding every CPU (--actors × --threads = the
    # cluster's CPUs) do not wait forever for input no task may be scheduled to
    # read (measured: 2 actors on a 2-CPU Ray, with 1 CPU per read task, hung).
    light = {"num_cpus": LIGHT_CPUS}
    if input_format == "jsonl":
        ds = ray.data.read_binary_files(inputs, include_paths=True, file_extensions=list(JSONL_SUFFIXES),
                                        ray_remote_args=light)

        def to_items(row: dict) -> list[dict]:
            return _item_rows(_from_stream(row["bytes"], row["path"], opts, row["path"], suffix=".jsonl"))

        ds = ds.flat_map(to_items, **light)
    elif input_format == "parquet":
        # Read as whole files too (not read_parquet, whose file-listing task asks
        # for a full CPU that actors holding every CPU never leave it).
        ds = ray.data.read_binary_files(inputs, include_paths=True, file_extensions=["parquet"],
                                        ray_remote_args=light)

        def to_items(row: dict) -> list[dict]:
            import io

            import pyarrow.parquet as pq

            path = row["path"]
            try:
                records = pq.read_table(io.BytesIO(row["bytes"])).to_pylist()
            except Exception as e:  # noqa: BLE001 — a damaged shard is one error record, as a bad file is
                return _item_rows([Item(id=path, file=path, line=None, error=f"not a readable Parquet file: {e}")])
            return _item_rows(item_from_record(r, path, None, None, opts) for r in records)

        ds = ds.flat_map(to_items, **light)
    else:
        raise ValueError(f"input_format must be jsonl or parquet, not {input_format!r}")

    load = dict(path_or_preset=model, device="cpu", batch_size=batch_size, max_length=max_length,
                quantize=quantize, threads=threads)
    labelled = ds.map_batches(
        _Labeller, fn_constructor_kwargs=dict(load=load, chunk=group_size(batch_size), split=not sentences,
                                              dedupe=not keep_duplicates),
        # a few dozen articles per call: enough to fill batches, small enough to spread over the actors
        batch_size=32, compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=threads, batch_format="pandas")

    class _JsonLines(BlockBasedFileDatasink):
        """Each ``record`` as one line, written as ``persian-stance label`` writes it."""

        def __init__(self, path: str):
            super().__init__(path, file_format="jsonl")

        def write_block_to_file(self, block, file) -> None:
            text = "".join(line + "\n" for line in block.to_pandas()["record"])
            file.write(text.encode("utf-8"))

    labelled.write_datasink(_JsonLines(out), ray_remote_args=light)
    files = sorted(Path(out).glob("*.jsonl")) if "://" not in out else []
    records = errors = 0
    for f in files:
        for line in f.read_text(encoding="utf-8").splitlines():
            records += 1
            errors += '"error": ' in line and "error" in json.loads(line)
    return {"records": records, "errors": errors, "files": len(files)}


def read_shards(out: str | Path) -> list[dict]:
    """The records of a ``label_ray`` output folder, shard by shard in name order."""
    from .outputs import read_records

    return [r for f in sorted(Path(out).glob("*.jsonl")) for _, r in read_records(f)]


def run(args: argparse.Namespace) -> int:
    from .errors import UserError

    try:
        import ray  # noqa: F401
    except ImportError:
        raise UserError('label-ray needs Ray: pip install "persian-stance[ray]"') from None
    from .checkpoint import read_config
    from .predictor import resolve_model

    read_config(resolve_model(args.model))  # a wrong --model is reported before a cluster is joined
    t0 = time.time()
    kept = tuple(f.strip() for f in args.keep_fields.split(",") if f.strip())
    counts = label_ray(args.inputs, args.out, input_format=args.input_format, model=args.model,
                       actors=args.actors, threads=args.threads, id_field=args.id_field,
                       text_field=args.text_field, keep_fields=kept, sentences=args.sentences,
                       keep_duplicates=args.keep_duplicates, batch_size=args.batch_size,
                       max_length=args.max_length, max_chars=args.max_chars, quantize=args.quantize,
                       encoding=args.encoding, address=args.address)
    print(f"{counts['records']} records ({counts['errors']} error records) in {counts['files']} shard(s) "
          f"under {args.out}, in {time.time() - t0:.0f} s", file=sys.stderr)
    return 1 if counts["errors"] else 0


def main(argv: list[str] | None = None) -> int:
    from .errors import add_common_arguments, run_command

    parser = argparse.ArgumentParser(prog="persian-stance label-ray", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    add_common_arguments(parser)
    return run_command(run, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
