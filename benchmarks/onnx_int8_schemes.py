"""Which ONNX Runtime int8 scheme for ``--backend onnx --quantize``: quality and engine speed.

    python benchmarks/onnx_int8_schemes.py [--model default] [--data real-dev] [--threads 1]

Every scheme is built with ONNX Runtime's own tools (``quantize_dynamic``, and
for the fused graphs its transformer optimiser) from the same fp32 export of
the checkpoint's encoder. For each, on ``--data`` (default: the real-news dev
split of the pool — selection data; ``../shared/realnews/dev.jsonl`` is for
measuring only and is never used here):

- topic and stance macro-F1, and their change from the fp32 ONNX engine;
- the share of sentences whose labels (topics, actors, stances) are those of
  fp32 ONNX;
- the engine's speed alone (encoder forward over ``--speed-sentences`` real
  pool sentences sorted by length, batches of 32, ``--threads`` threads) as a
  multiple of torch fp32 on the same batches, interleaved round by round and
  the best of ``--rounds`` kept, since the machine is shared.

Schemes:
- ``all``: every MatMul with a weight, one scale per output channel (what
  ``infer/onnx_engine.py`` shipped first);
- ``all but layer 11``: the last layer's MatMuls stay fp32 (its errors reach
  the heads unfiltered);
- ``all but layers 0, 11``;
- ``fused, all``: the graph first fused by ONNX Runtime's BERT optimiser
  (attention, skip-LayerNorm, bias-GELU kernels), then every MatMul;
- ``fused, all + attention``: the same, the fused attention's input projection
  quantised too (QAttention).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def export_fp32(model, folder: Path, *, eager: bool) -> Path:
    """The encoder as fp32 ONNX (``eager``: with the attention written out as
    matrix products, the form ONNX Runtime's BERT optimiser recognises)."""
    from persian_stance.infer.onnx_engine import export_encoder

    before = model.encoder.config._attn_implementation
    if eager:
        model.encoder.set_attn_implementation("eager")
    try:
        path = folder / ("eager.onnx" if eager else "traced.onnx")
        export_encoder(model, path)
    finally:
        model.encoder.set_attn_implementation(before)  # the torch timing below runs the model as loaded
    return path


def fuse(path: Path, out: Path, config: dict) -> Path:
    from onnxruntime.transformers import optimizer

    opt = optimizer.optimize_model(str(path), model_type="bert", num_heads=config["num_attention_heads"],
                                   hidden_size=config["hidden_size"], opt_level=0)
    print(f"  fused: {opt.get_fused_operator_statistics()}", file=sys.stderr)
    opt.save_model_to_file(str(out), use_external_data_format=True)
    return out


def quantize(path: Path, out: Path, *, exclude_layers: tuple[int, ...] = (), op_types=("MatMul",)) -> Path:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(path), load_external_data=False).graph
    excluded = [n.name for n in graph.node if n.op_type == "MatMul"
                and any(f"/layer.{k}/" in n.name for k in exclude_layers)]
    quantize_dynamic(str(path), str(out), weight_type=QuantType.QInt8, op_types_to_quantize=list(op_types),
                     per_channel=True, nodes_to_exclude=excluded, use_external_data_format=True,
                     # the fused graph's contrib ops carry no shape information
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return out


def batches_of(predictor, texts: list[str], size: int = 32) -> list[tuple[np.ndarray, np.ndarray]]:
    ids = sorted((predictor.preparer.prepare(t).features.input_ids for t in texts), key=len)
    out = []
    for b in range(0, len(ids), size):
        chunk = ids[b:b + size]
        width = max(map(len, chunk))
        x = np.zeros((len(chunk), width), np.int64)
        mask = np.zeros_like(x)
        for i, row in enumerate(chunk):
            x[i, :len(row)], mask[i, :len(row)] = row, 1
        out.append((x, mask))
    return out


def main() -> int:
    from persian_stance.infer.onnx_engine import OnnxEncoder
    from persian_stance.infer.predictor import Predictor
    from persian_stance.train.corpus import resolve_data
    from persian_stance.train.evaluate import score_predictor
    from persian_stance.train.records import load_records

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--data", default="real-dev", help="labelled split or file to score on (default: real-dev)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--speed-sentences", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=32, help="the onnx backend's batch (int8 scales are per batch)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    records = load_records(resolve_data(args.data))
    texts = [r.text for r in records]
    speed_texts = texts[:args.speed_sentences]
    base = Predictor.load(args.model, device="cpu", threads=args.threads, batch_size=args.batch_size)
    enc_config = base.config.encoder_config
    work = Path(tempfile.mkdtemp(prefix="onnx-int8-schemes-"))
    print(f"building the schemes in {work} …", file=sys.stderr, flush=True)
    traced = export_fp32(base.model, work, eager=False)
    fused = fuse(export_fp32(base.model, work, eager=True), work / "fused.onnx", enc_config)
    paths = {
        "fp32": traced,
        "all": quantize(traced, work / "all.onnx"),
        "all but layer 11": quantize(traced, work / "no11.onnx", exclude_layers=(11,)),
        "all but layers 0, 11": quantize(traced, work / "no0-11.onnx", exclude_layers=(0, 11)),
        "fused, all": quantize(fused, work / "fused-all.onnx"),
        "fused, all + attention": quantize(fused, work / "fused-attn.onnx", op_types=("MatMul", "Attention")),
    }

    results: dict[str, dict] = {}
    labels: dict[str, list] = {}
    for name, path in paths.items():
        print(f"scoring {name} …", file=sys.stderr, flush=True)
        p = Predictor.load(args.model, device="cpu", threads=args.threads, batch_size=args.batch_size)
        p.model.encoder.to("meta")
        p.model.encode = OnnxEncoder(path, args.threads)
        s = score_predictor(p, records)
        labels[name] = [[r.topic_labels, [[a.actor, a.stance] for a in r.actors]] for r in p.predict(texts)]
        results[name] = {"topic_macro_f1": s["topic_macro_f1"], "stance_macro_f1": s["stance_macro_f1"]}
    for name in paths:
        results[name]["labels_as_fp32"] = float(np.mean([a == b for a, b in zip(labels[name], labels["fp32"])]))

    print("timing the engines …", file=sys.stderr, flush=True)
    batches = batches_of(base, speed_texts)
    # the backend's own session settings, so the engines are timed as the label command runs them
    sessions = {name: OnnxEncoder(path, args.threads).session for name, path in paths.items()}
    best = {name: float("inf") for name in ["torch fp32", *paths]}
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        with torch.inference_mode():
            for x, m in batches:
                base.model.encoder(input_ids=torch.from_numpy(x), attention_mask=torch.from_numpy(m))
        best["torch fp32"] = min(best["torch fp32"], time.perf_counter() - t0)
        for name, sess in sessions.items():
            t0 = time.perf_counter()
            for x, m in batches:
                sess.run(None, {"input_ids": x, "attention_mask": m})
            best[name] = min(best[name], time.perf_counter() - t0)
    for name in paths:
        results[name]["engine_x_torch_fp32"] = best["torch fp32"] / best[name]

    ref = results["fp32"]
    print(f"\n{len(records)} sentences of {args.data}; engine speed over {len(speed_texts)} of them, "
          f"{args.threads} thread(s), best of {args.rounds}\n")
    print("| scheme | topic macro-F1 | stance macro-F1 | Δ topic | Δ stance | labels = fp32 | engine × torch fp32 |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['topic_macro_f1']:.3f} | {r['stance_macro_f1']:.3f} | "
              f"{100 * (r['topic_macro_f1'] - ref['topic_macro_f1']):+.1f} | "
              f"{100 * (r['stance_macro_f1'] - ref['stance_macro_f1']):+.1f} | {r['labels_as_fp32']:.1%} | "
              f"{r['engine_x_torch_fp32']:.2f} |")
    if args.json:
        args.json.write_text(json.dumps({"command": " ".join(sys.argv), "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
