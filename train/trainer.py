"""``persian-stance train``: fine-tune the encoder with task heads.

Built on the Hugging Face ``Trainer`` (mixed precision, several GPUs and
resuming come from there) and ``peft`` for LoRA. Data reaches it as
``datasets`` datasets, loaded through the validated loader. The result is a
checkpoint folder in this project's format (safetensors + JSON), written
atomically.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import platform
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

log = logging.getLogger("persian_stance.train")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="TOML training config (defaults: train/configs/default.toml values)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config value, e.g. --set training.epochs=3 (repeatable)")
    p.add_argument("--encoder", help="encoder preset (e5-small, parsbert), hub id or local folder")
    p.add_argument("--output", help="checkpoint folder to write")
    p.add_argument("--seed", type=int)
    p.add_argument("--epochs", type=int)
    p.add_argument("--resume", action="store_true", help="resume from the last Trainer checkpoint in output.work_dir")


def run(args: argparse.Namespace) -> int:
    from .config import load_config

    overrides = list(args.overrides)
    for flag, key in (("encoder", "encoder.name"), ("output", "output.dir"), ("seed", "training.seed"),
                      ("epochs", "training.epochs")):
        value = getattr(args, flag)
        if value is not None:
            overrides.append(f"{key}={value!r}" if isinstance(value, str) else f"{key}={value}")
    config = load_config(args.config, overrides)
    command = "persian-stance " + " ".join(sys.argv[1:]) if sys.argv and sys.argv[0].endswith("persian-stance") \
        else "persian-stance train " + " ".join(_quote(a) for a in sys.argv[2:])
    train(config, resume=args.resume, command=command)
    return 0


def _quote(a: str) -> str:
    return a if a and all(c.isalnum() or c in "-_=./:," for c in a) else repr(a)


@dataclass
class Session:
    """Everything set up for a training run, before it runs: the Trainer, the
    model it trains, and the checkpoint settings the result will carry."""

    config: Any
    trainer: Any
    model: Any
    """The model being trained (peft-wrapped with LoRA); in memory until saved."""
    checkpoint_config: Any
    """The saved checkpoint's config, less the topic thresholds tuned after training."""
    preparer: Any
    train_files: list[Path]
    dev_files: list[Path]
    train_records: int
    dev_records: int
    feature_stats: dict[str, Any]
    dev_ds: Any


@dataclass
class Fitted:
    thresholds: dict[str, float]
    dev_metrics: dict[str, float]
    epochs_run: float
    train_seconds: float
    calibration: object = None
    """An ``infer.calibration.Calibration`` fitted on dev, or None."""


def train(config, resume: bool = False, command: str = "", quiet: bool = False) -> Path:
    """Train per ``config`` and write the checkpoint; returns its path."""
    t_start = time.time()
    session = build(config, quiet=quiet)
    fitted = fit(session, resume=resume)
    return write(session, fitted, command=command, started=t_start)


def build(config, quiet: bool = False) -> Session:
    """Load the data, prepare it, build the model and the Trainer; trains nothing."""
    import dataclasses

    import torch
    from transformers import EarlyStoppingCallback, Trainer, TrainingArguments, set_seed

    from persian_stance.infer.checkpoint import CheckpointConfig
    from persian_stance.infer.encoders import load_encoder, load_tokenizer, spec_for, zwnj_policy
    from persian_stance.infer.features import collate
    from persian_stance.infer.model import TopicStanceModel
    from persian_stance.infer.prepare import Preparer

    from .corpus import training_data
    from .dataset import record_features, to_dataset
    from .records import load_records

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    tc = config.training
    if tc.threads:
        torch.set_num_threads(tc.threads)
    set_seed(tc.seed)

    train_files, train_records = [], []
    weights = config.data.train_weights or [1.0] * len(config.data.train)
    for spec, weight in zip(config.data.train, weights):
        files = training_data([spec], log)
        train_files += files
        train_records += weighted(load_records(files), weight, tc.seed) if files else []
    dev_files = training_data(config.data.dev, log)
    dev_records = load_records(dev_files)
    log.info("data: %d train records from %d files, %d dev records", len(train_records), len(train_files),
             len(dev_records))

    spec = spec_for(config.encoder.name, max_length=config.encoder.max_length)
    tokenizer = load_tokenizer(spec)
    encoder = load_encoder(spec)
    positions = getattr(encoder.config, "max_position_embeddings", None)
    if positions is not None and spec.max_length > positions:
        raise ValueError(f"encoder.max_length {spec.max_length} exceeds the {positions} positions of "
                         f"encoder {spec.name!r}")
    zwnj = zwnj_policy(tokenizer)
    log.info("encoder %s; ZWNJ policy for its tokenizer: %s; normaliser %s", spec.name, zwnj,
             config.normalizer.to_dict())
    # The checkpoint's settings come first: the text is prepared from them, as
    # the Predictor will prepare it from the saved copy.
    ckpt_config = CheckpointConfig(
        encoder=spec,
        encoder_config=encoder.config.to_dict(),
        zwnj=zwnj,
        normalizer=config.normalizer,
        dropout=config.heads.dropout,
        stance_hidden=config.heads.stance_hidden,
        stance_input=config.heads.stance_input,
    )
    preparer = Preparer.for_checkpoint(ckpt_config, tokenizer)
    train_rows, train_stats = record_features(train_records, preparer)
    dev_rows, dev_stats = record_features(dev_records, preparer)
    if config.data.soft_targets:
        from .soft_targets import attach, read_targets

        header, targets = read_targets(config.data.soft_targets)
        n = attach(train_rows, train_records, targets, config.data.soft_targets)
        log.info("distillation: soft targets of %s for %d records (%d stance targets), weight %.2f",
                 ", ".join(header["teacher"]), len(train_rows), n, tc.distill_weight)
    log.info("train features: %s; dev features: %s", train_stats, dev_stats)
    train_ds, dev_ds = to_dataset(train_rows), to_dataset(dev_rows)

    model = TopicStanceModel(encoder, dropout=config.heads.dropout, stance_hidden=config.heads.stance_hidden)
    model.label_smoothing = tc.label_smoothing
    model.distill_weight = tc.distill_weight
    if tc.class_weights:
        _set_class_weights(model, train_rows, tc.max_class_weight, tc.class_weight_power)
    if config.encoder.finetune == "lora":
        model, lora_meta = _wrap_lora(model, config.encoder)
        ckpt_config = dataclasses.replace(ckpt_config, lora=lora_meta)
    elif config.encoder.finetune == "layers":
        # The word embeddings are three quarters of e5-small's weights and most
        # rows are tokens the training text never shows: frozen, they stay the
        # preset's, and the checkpoint need not store them.
        model.encoder.get_input_embeddings().weight.requires_grad_(False)
        ckpt_config = dataclasses.replace(ckpt_config, encoder_stored="layers-fp16")
    if tc.init_from:
        from persian_stance.infer.checkpoint import load_for_training

        load_for_training(model, tc.init_from, ckpt_config)
        log.info("trained weights loaded from %s", tc.init_from)

    use_cuda = torch.cuda.is_available()
    bf16 = tc.mixed_precision == "bf16" or (tc.mixed_precision == "auto" and use_cuda and torch.cuda.is_bf16_supported())
    fp16 = tc.mixed_precision == "fp16"
    args = TrainingArguments(
        output_dir=str(Path(config.output.work_dir)),
        num_train_epochs=tc.epochs,
        per_device_train_batch_size=tc.batch_size,
        per_device_eval_batch_size=max(32, tc.batch_size),
        gradient_accumulation_steps=tc.gradient_accumulation_steps,
        # No learning_rate here: the rates are set on the optimizer (_optimizer),
        # which the Trainer uses as given.
        weight_decay=tc.weight_decay,
        # transformers reads a warmup_steps value below 1 as a share of all
        # optimizer steps (and one of 1 or more as a count, which the config refuses).
        warmup_steps=tc.warmup_ratio,
        lr_scheduler_type="linear",
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=2,
        load_best_model_at_end=True,
        metric_for_best_model="selection",
        greater_is_better=True,
        logging_steps=tc.logging_steps,
        seed=tc.seed,
        data_seed=tc.seed,
        report_to=[],
        remove_unused_columns=False,
        label_names=["topic_labels", "stance_labels"],
        train_sampling_strategy="group_by_length",  # little padding on CPU
        length_column_name="length",
        dataloader_num_workers=0,
        use_cpu=not use_cuda,
        bf16=bf16,
        fp16=fp16,
        disable_tqdm=quiet,
    )
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    def data_collator(batch):
        return collate(batch, pad_id)

    def compute_metrics(eval_pred):
        return selection_metrics(eval_pred.predictions, eval_pred.label_ids)

    optimizer = _optimizer(model, tc)
    log.info("learning rates on the optimizer: encoder %g, heads %g; warmup %.0f%% of the steps",
             tc.learning_rate, tc.head_learning_rate, 100 * tc.warmup_ratio)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=dev_ds,
        data_collator=data_collator,
        compute_metrics=compute_metrics,
        callbacks=[EarlyStoppingCallback(early_stopping_patience=tc.early_stopping_patience)],
        optimizers=(optimizer, None),
    )
    return Session(config, trainer, model, ckpt_config, preparer, train_files, dev_files, len(train_records),
                   len(dev_records), {"train": train_stats, "dev": dev_stats}, dev_ds)


def fit(session: Session, resume: bool = False) -> Fitted:
    """Run the Trainer; the best epoch's weights stay in ``session.model``; tune
    the topic thresholds on dev."""
    import numpy as np

    work_dir = Path(session.config.output.work_dir)
    resume_from = None
    if resume:
        from transformers.trainer_utils import get_last_checkpoint

        resume_from = get_last_checkpoint(str(work_dir)) if work_dir.is_dir() else None
        if resume_from is None:
            log.warning("--resume: no Trainer checkpoint in %s; starting from scratch", work_dir)
        else:
            log.info("resuming from %s", resume_from)
    t_train = time.time()
    result = session.trainer.train(resume_from_checkpoint=resume_from)
    train_seconds = time.time() - t_train

    # The best model (by dev selection score) is loaded: calibrate on dev, then
    # tune the topic thresholds on the calibrated probabilities.
    out = session.trainer.predict(session.dev_ds)
    tc = session.config.training
    calibration = fit_dev_calibration(out.predictions, out.label_ids, tc.stance_rule,
                                      ", ".join(session.config.data.dev)) if tc.calibrate else None
    topic_prob = calibration.topic_probs(out.predictions[0]) if calibration else 1 / (1 + np.exp(-out.predictions[0]))
    thresholds = tune_thresholds(topic_prob, out.label_ids[0])
    dev_metrics = selection_metrics(out.predictions, out.label_ids, thresholds, calibration)
    return Fitted(thresholds, dev_metrics, float(result.metrics.get("epoch", 0)), train_seconds, calibration)


def fit_dev_calibration(predictions, label_ids, stance_rule: str = "argmax", fitted_on: str | None = None):
    """Temperatures (and with ``prior`` a stance bias) fitted on the dev outputs."""
    from persian_stance.infer.model import IGNORE

    from .calibrate import fit_calibration

    mask = label_ids[1] != IGNORE
    cal = fit_calibration(predictions[0], label_ids[0], predictions[1][mask], label_ids[1][mask].astype(int),
                          stance_rule, fitted_on)
    log.info("calibration on dev: topic temperature %.3f, stance temperature %.3f, stance bias %s",
             cal.topic_temperature, cal.stance_temperature, cal.stance_bias)
    return cal


def write(session: Session, fitted: Fitted, command: str = "", started: float | None = None) -> Path:
    """Write the checkpoint of a fitted session (atomically); returns its path."""
    import dataclasses

    import torch

    from persian_stance.infer.checkpoint import save_checkpoint, state_to_save

    config, trainer = session.config, session.trainer
    ckpt_config = dataclasses.replace(session.checkpoint_config, topic_thresholds=fitted.thresholds)
    if fitted.calibration is not None:
        ckpt_config = dataclasses.replace(ckpt_config, calibration=fitted.calibration)
    state = state_to_save(session.model, ckpt_config.lora, ckpt_config.encoder_stored)
    peak_mb = _peak_memory_mb()
    use_cuda = torch.cuda.is_available()
    stats = session.feature_stats
    metrics = {
        "dev": fitted.dev_metrics,
        "training": {
            "train_records": session.train_records, "dev_records": session.dev_records,
            "epochs_run": fitted.epochs_run,
            "best_checkpoint": trainer.state.best_model_checkpoint,
            "train_seconds": round(fitted.train_seconds, 1),
            "total_seconds": round(time.time() - started, 1) if started else None,
            "peak_rss_mb": peak_mb,
            # What took effect, read back from the optimizer and the scheduler.
            "learning_rates": {g["name"]: g["initial_lr"] for g in trainer.optimizer.param_groups},
            "warmup_steps": trainer.args.get_warmup_steps(trainer.state.max_steps),
            "optimizer_steps": trainer.state.max_steps,
            "loss_curve": [[h["step"], round(float(h["loss"]), 4)] for h in trainer.state.log_history if "loss" in h],
            "device": "cuda:" + torch.cuda.get_device_name(0) if use_cuda else f"cpu ({torch.get_num_threads()} threads)",
            "gold_actors_without_detected_span": {"train": stats["train"].gold_without_span,
                                                  "dev": stats["dev"].gold_without_span},
        },
    }
    extra = {
        "metrics.json": json.dumps(metrics, ensure_ascii=False, indent=2) + "\n",
        "training.toml": config.to_toml(),
        "README.md": model_card(config, ckpt_config, metrics, session.train_files, session.dev_files, command),
    }
    path = save_checkpoint(config.output.dir, ckpt_config, state, extra)
    log.info("checkpoint written to %s (train %.0f s, peak RSS %s MB); dev: topic macro-F1 %.3f, stance macro-F1 %.3f",
             path, fitted.train_seconds, peak_mb, fitted.dev_metrics["topic_macro_f1"],
             fitted.dev_metrics["stance_macro_f1"])
    return path


def selection_metrics(predictions, label_ids, thresholds: dict | None = None, calibration=None) -> dict:
    """Dev metrics over the whole set; ``selection`` (their mean) picks the best epoch.
    With a calibration, probabilities and stance decisions are the calibrated ones."""
    import numpy as np
    from sklearn.metrics import f1_score

    from persian_stance.infer.labels import TOPICS
    from persian_stance.infer.model import IGNORE

    topic_logits, stance_logits = predictions[0], predictions[1]
    topic_true, stance_true = label_ids[0], label_ids[1]
    prob = calibration.topic_probs(topic_logits) if calibration else 1 / (1 + np.exp(-topic_logits))
    if calibration:
        stance_logits = np.log(calibration.stance_probs(stance_logits))
    th = np.array([thresholds[t] for t in TOPICS]) if thresholds else 0.5
    topic_pred = (prob >= th).astype(int)
    topic_f1 = float(np.mean(f1_score(topic_true.astype(int), topic_pred, average=None, zero_division=0)))
    mask = stance_true != IGNORE
    gold = stance_true[mask]
    pred = stance_logits.argmax(-1)[mask]
    stance_f1 = float(f1_score(gold, pred, labels=[0, 1, 2], average="macro", zero_division=0)) if gold.size else 0.0
    return {"topic_macro_f1": topic_f1, "stance_macro_f1": stance_f1, "selection": (topic_f1 + stance_f1) / 2}


def tune_thresholds(prob, truth) -> dict[str, float]:
    """Per topic, the probability cut-off with the best F1 on dev (ties → closest to 0.5)."""
    import numpy as np
    from sklearn.metrics import f1_score

    from persian_stance.infer.labels import TOPICS

    grid = np.round(np.arange(0.05, 0.96, 0.05), 2)
    out = {}
    for i, t in enumerate(TOPICS):
        y = truth[:, i].astype(int)
        if y.sum() == 0:
            out[t] = 0.5
            continue
        scores = [(f1_score(y, (prob[:, i] >= g).astype(int), zero_division=0), -abs(g - 0.5), g) for g in grid]
        out[t] = float(max(scores)[2])
    return out


def weighted(records: list, weight: float, seed: int) -> list:
    """``records`` repeated ``int(weight)`` times plus a seeded random share
    ``weight % 1`` of them: a data source's sampling weight. Repeats are the
    same sentences, so the loss sees them ``weight`` times per epoch."""
    import random

    whole, part = int(weight), weight - int(weight)
    out = list(records) * whole
    if part > 0:
        rng = random.Random(seed)
        out += rng.sample(list(records), round(part * len(records)))
    return out


def _set_class_weights(model, rows: list[dict], cap: float, power: float = 1.0) -> None:
    import torch

    from persian_stance.infer.labels import STANCES, TOPICS
    from persian_stance.infer.model import IGNORE

    n = len(rows)
    pos = torch.tensor([sum(r["topic_labels"][i] for r in rows) for i in range(len(TOPICS))])
    model.topic_pos_weight = ((n - pos) / pos.clamp(min=1)).clamp(1.0, cap).float()
    counts = torch.zeros(len(STANCES))
    for r in rows:
        for s in r["stance_labels"]:
            if s != IGNORE:
                counts[s] += 1
    w = (counts.sum() / (len(STANCES) * counts.clamp(min=1))) ** power
    model.stance_class_weight = w.clamp(max=cap).float()
    log.info("class weights: topic pos_weight %s, stance %s", model.topic_pos_weight.tolist(),
             model.stance_class_weight.tolist())


def _wrap_lora(model, enc_cfg):
    from peft import LoraConfig, get_peft_model

    suffixes = tuple(enc_cfg.lora_targets)
    targets = [name for name, module in model.encoder.named_modules()
               if name.endswith(suffixes) and module.__class__.__name__ == "Linear"]
    if not targets:
        raise ValueError(f"no linear layers of the encoder match lora_targets {enc_cfg.lora_targets}")
    lora = LoraConfig(
        r=enc_cfg.lora_r,
        lora_alpha=enc_cfg.lora_alpha,
        lora_dropout=enc_cfg.lora_dropout,
        target_modules=["encoder." + t for t in targets],
        modules_to_save=["topic_head", "stance_head"],
        bias="none",
    )
    wrapped = get_peft_model(model, lora)
    meta = {"r": enc_cfg.lora_r, "alpha": enc_cfg.lora_alpha, "targets": targets}
    trainable = sum(p.numel() for p in wrapped.parameters() if p.requires_grad)
    log.info("LoRA on %d linear layers; %d trainable parameters", len(targets), trainable)
    return wrapped, meta


def _optimizer(model, tc):
    """AdamW with the heads on their own learning rate: the one place the
    configured learning rates are applied."""
    import torch

    head, other, no_decay = [], [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if "topic_head" in name or "stance_head" in name:
            head.append(p)
        elif p.ndim < 2:
            no_decay.append(p)
        else:
            other.append(p)
    groups = [
        {"name": "encoder", "params": other, "lr": tc.learning_rate, "weight_decay": tc.weight_decay},
        {"name": "encoder_no_decay", "params": no_decay, "lr": tc.learning_rate, "weight_decay": 0.0},
        {"name": "heads", "params": head, "lr": tc.head_learning_rate, "weight_decay": tc.weight_decay},
    ]
    return torch.optim.AdamW([g for g in groups if g["params"]])


def _peak_memory_mb() -> float:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / 1024 if platform.system() != "Darwin" else peak / 2**20, 1)


def model_card(config, ckpt_config, metrics, train_files, dev_files, command: str) -> str:
    from persian_stance.infer.labels import GUIDELINE_VERSION, STANCES, TOPICS

    dev = metrics["dev"]
    tr = metrics["training"]
    th = ", ".join(f"{t} {ckpt_config.topic_thresholds[t]:.2f}" for t in TOPICS)
    finetune = (f"LoRA r={config.encoder.lora_r}, alpha={config.encoder.lora_alpha} on "
                f"{len(ckpt_config.lora['targets'])} linear layers" if ckpt_config.lora
                else "fine-tuned layers, word embeddings frozen, stored in fp16"
                if ckpt_config.encoder_stored == "layers-fp16" else "full fine-tuning")
    return f"""# persian-stance checkpoint

Sentence-level topics ({", ".join(TOPICS)}) and stance ({", ".join(STANCES)}) toward the
actors of ANNOTATION.md v{GUIDELINE_VERSION}.

- **Encoder:** `{config.encoder.name}` ({finetune}); input prefix `{ckpt_config.encoder.text_prefix!r}`,
  max length {ckpt_config.encoder.max_length}, ZWNJ policy `{ckpt_config.zwnj}`.
- **Heads:** topic (mean-pooled sentence, sigmoid per topic) and stance (mention tokens ⊕ sentence,
  softmax over favor/against/neutral) — one encoder pass per sentence.
- **Data:** train {tr["train_records"]} records ({", ".join(Path(f).name for f in train_files)});
  dev {tr["dev_records"]} records ({", ".join(Path(f).name for f in dev_files)}).
- **Dev metrics (early stopping, thresholds):** topic macro-F1 {dev["topic_macro_f1"]:.3f},
  stance macro-F1 (gold mentions) {dev["stance_macro_f1"]:.3f}. Test and real-news figures come from
  `persian-stance evaluate`, never from this dev set.
- **Topic thresholds (tuned on dev):** {th}.
- **Training:** {tr["epochs_run"]:.0f} epochs, {tr["train_seconds"]:.0f} s, peak RSS {tr["peak_rss_mb"]} MB on {tr["device"]};
  seed {config.training.seed}.
- **Command:** `{command}`
- **Date:** {datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}

The full configuration is in `training.toml`, all numbers in `metrics.json`.
"""
