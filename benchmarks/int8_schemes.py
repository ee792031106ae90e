"""Accuracy of int8 quantisation schemes against fp32, for the shipped model.

    python benchmarks/int8_schemes.py [--model default] [--batch-size 16]

Scores each scheme on the authored dev split (where the scheme used by
``Predictor.load(quantize=True)`` was chosen), the authored test split, the seed
sentences and, when ``../shared/realnews/dev.jsonl`` is present, real dev.
Speed is measured separately by ``benchmarks/label_speed.py``.

Schemes:
- ``fp32``: no quantisation;
- ``per-tensor, all``: every linear layer, one weight scale per layer (torch's
  default dynamic quantisation, what ``--quantize`` did before);
- ``per-channel, all``: every linear layer, one weight scale per output channel;
- ``shipped``: ``persian_stance.infer.predictor.quantize_dynamic``.
"""
from __future__ import annotations

import argparse
import copy
from pathlib import Path

from persian_stance.infer.checkpoint import load_checkpoint
from persian_stance.infer.predictor import Predictor, quantize_dynamic, resolve_model
from persian_stance.train.corpus import load_split
from persian_stance.train.evaluate import score_predictor
from persian_stance.train.records import load_records

ROOT = Path(__file__).resolve().parent.parent
REAL_DEV = ROOT.parent / "shared" / "realnews" / "dev.jsonl"

SCHEMES = {
    "fp32": lambda model: model,
    "per-tensor, all": lambda model: quantize_dynamic(model, per_channel=False, keep_narrowing=False),
    "per-channel, all": lambda model: quantize_dynamic(model, keep_narrowing=False),
    "shipped": quantize_dynamic,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="default")
    # int8 activation scales are per batch, so scores depend on the batch size;
    # 16 is what `persian-stance label` and the speed benchmark use.
    ap.add_argument("--batch-size", type=int, default=16)
    args = ap.parse_args()

    sets = {"authored dev": load_split("dev"), "authored test": load_split("test"),
            "seeds": load_records([ROOT / "data" / "seeds.jsonl"])}
    if REAL_DEV.is_file():
        sets["real dev"] = load_records([REAL_DEV])
    model, tokenizer, config = load_checkpoint(resolve_model(args.model))
    model.eval()

    header = "| scheme | " + " | ".join(f"{name} topic / stance" for name in sets) + " |"
    print(header)
    print("|---" * (len(sets) + 1) + "|")
    for scheme, apply in SCHEMES.items():
        predictor = Predictor(apply(copy.deepcopy(model)), tokenizer, config, device="cpu",
                              batch_size=args.batch_size)
        cells = []
        for records in sets.values():
            s = score_predictor(predictor, records)
            cells.append(f"{s['topic_macro_f1']:.3f} / {s['stance_macro_f1']:.3f}")
        print(f"| {scheme} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
