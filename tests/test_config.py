"""Training configuration: bad values are refused naming their key, and each
value reaches the place that uses it (checked on a Trainer built, not run)."""
import math

import pytest

from persian_stance.infer.encoders import DEFAULT_MAX_LENGTH, EncoderSpec, spec_for
from persian_stance.infer.normalize import NormalizerConfig
from persian_stance.train.config import ConfigError, EncoderConfig, load_config


def test_unknown_key_names_it(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[training]\nlearning_rat = 0.01\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown key training\.learning_rat"):
        load_config(cfg)
    with pytest.raises(ConfigError, match=r"unknown section \[optimiser\]"):
        load_config(None, ["optimiser.lr=0.1"])


def test_wrong_type_names_the_key():
    with pytest.raises(ConfigError, match=r"training\.epochs expects int, got 'many'"):
        load_config(None, ["training.epochs='many'"])
    with pytest.raises(ConfigError, match=r"normalizer\.fix_half_spaces expects bool"):
        load_config(None, ["normalizer.fix_half_spaces=1"])


@pytest.mark.parametrize("override, key", [
    ("training.warmup_ratio=1.0", "training.warmup_ratio"),
    ("training.warmup_ratio=-0.1", "training.warmup_ratio"),
    ("training.learning_rate=0", "training.learning_rate"),
    ("training.head_learning_rate=2", "training.head_learning_rate"),
    ("encoder.max_length=4096", "encoder.max_length"),
    ("training.epochs=0", "training.epochs"),
    ("heads.dropout=1.5", "heads.dropout"),
    ("encoder.finetune='half'", "encoder.finetune"),
    ("training.mixed_precision='fp8'", "training.mixed_precision"),
    ("normalizer.digits='roman'", "normalizer.digits"),
])
def test_out_of_range_value_names_the_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(None, [override])


def test_one_max_length_default():
    assert EncoderConfig().max_length == EncoderSpec("x").max_length == spec_for("x").max_length \
        == EncoderSpec.from_dict({"name": "x"}).max_length == DEFAULT_MAX_LENGTH


def test_normalizer_section_is_saved_in_training_toml():
    cfg = load_config(None, ["normalizer.digits='persian'", "normalizer.fix_half_spaces=false"])
    assert cfg.normalizer == NormalizerConfig(digits="persian", fix_half_spaces=False)
    assert "[normalizer]\ndigits = \"persian\"\nfix_half_spaces = false" in cfg.to_toml()


# -- each value reaches its use ----------------------------------------------------


@pytest.fixture(scope="module")
def session(tiny, tmp_path_factory):
    """A Trainer built from non-default values, not run."""
    from persian_stance.train.trainer import build

    root, data, encoder = tiny
    out = tmp_path_factory.mktemp("cfg")
    config = load_config(None, [
        f"data.train=['{data}']", f"data.dev=['{data}']", f"encoder.name='{encoder}'", "encoder.max_length=12",
        "training.learning_rate=0.0007", "training.head_learning_rate=0.003", "training.warmup_ratio=0.25",
        "training.batch_size=4", "training.epochs=2", "normalizer.digits='persian'",
        f"output.dir='{out / 'ckpt'}'", f"output.work_dir='{out / 'work'}'",
    ])
    return build(config, quiet=True)


def test_learning_rates_reach_the_optimizer(session):
    groups = {g["name"]: g["lr"] for g in session.trainer.optimizer.param_groups}
    assert groups == {"encoder": 0.0007, "heads": 0.003}  # LoRA: every trainable encoder weight is a matrix
    head_params = {id(p) for n, p in session.model.named_parameters() if "_head" in n and p.requires_grad}
    heads = next(g for g in session.trainer.optimizer.param_groups if g["name"] == "heads")
    assert {id(p) for p in heads["params"]} == head_params


def test_warmup_ratio_is_a_share_of_all_steps(session):
    trainer = session.trainer
    steps = 40
    trainer.create_scheduler(num_training_steps=steps, optimizer=trainer.optimizer)
    warmup = math.ceil(0.25 * steps)  # 10 steps, not 0.25 of one
    factor = trainer.lr_scheduler.lr_lambdas[0]
    assert factor(warmup // 2) == pytest.approx(0.5)
    assert factor(warmup) == pytest.approx(1.0)
    assert factor(steps) == pytest.approx(0.0)


def test_max_length_reaches_the_features(session):
    lengths = [len(ids) for ids in session.trainer.train_dataset["input_ids"]]
    assert max(lengths) == 12  # the longer tiny sentences are cut to it (and none is longer)
    assert session.checkpoint_config.encoder.max_length == 12
    assert session.preparer.max_length == 12


def test_normalizer_section_reaches_preparation_and_checkpoint(session):
    assert session.checkpoint_config.normalizer == NormalizerConfig(digits="persian")
    assert session.preparer.normalizer.config.digits == "persian"
    assert session.preparer.prepare("ایران ۲۰ بار و 30 بار").text == "ایران ۲۰ بار و ۳۰ بار"
    assert session.checkpoint_config.to_dict()["normalizer"]["digits"] == "persian"


def test_training_rejects_max_length_beyond_the_encoder(tiny, tmp_path):
    from persian_stance.train.trainer import build

    root, data, encoder = tiny  # the tiny encoder has 128 positions
    config = load_config(None, [f"data.train=['{data}']", f"data.dev=['{data}']", f"encoder.name='{encoder}'",
                                "encoder.max_length=256", f"output.work_dir='{tmp_path}'"])
    with pytest.raises(ValueError, match="encoder.max_length 256 exceeds the 128 positions"):
        build(config, quiet=True)



@pytest.mark.parametrize("override, message", [
    ("encoder.lora_r=0", "encoder.lora_r must be at least 1, not 0"),
    ("encoder.max_length=-5", "encoder.max_length must be between 8 and 512, not -5"),
])
def test_values_that_used_to_crash_training_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


@pytest.mark.parametrize("key, value, message", [
    ("lora.r", 0, "lora.r must be an integer of at least 1, not 0"),  # was a ZeroDivisionError at load
    ("lora.alpha", -1, "lora.alpha must be a number above 0, not -1"),
    ("encoder.max_length", -5, "encoder.max_length must be between 8 and 512, not -5"),  # was an OverflowError
    ("heads.dropout", 1.5, "heads.dropout must be in [0, 1), not 1.5"),
])
def test_checkpoint_config_values_name_the_key_and_range(key, value, message, tmp_path):
    import json
    import re

    from persian_stance.infer.checkpoint import CheckpointError, read_config

    from conftest import ROOT

    cfg = json.loads((ROOT / "checkpoints" / "default" / "config.json").read_text(encoding="utf-8"))
    section, name = key.split(".")
    if section == "lora" and cfg.get("lora") is None:  # the shipped model is not LoRA: check a LoRA config
        cfg["lora"] = {"r": 16, "alpha": 32, "targets": ["encoder.layer.0.attention.self.query"]}
    cfg[section][name] = value
    (tmp_path / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    with pytest.raises(CheckpointError, match=re.escape(f"{tmp_path / 'config.json'}: {message}")):
        read_config(tmp_path)


def test_train_weights_need_one_weight_per_train_entry():
    with pytest.raises(ConfigError, match="one weight per train entry"):
        load_config(overrides=["data.train=['train', 'real-train']", "data.train_weights=[2.0]"])
    with pytest.raises(ConfigError, match=r"train_weights must be numbers in \(0, 10\]"):
        load_config(overrides=["data.train=['train']", "data.train_weights=[0]"])


def test_train_weight_repeats_and_subsamples_a_source():
    from persian_stance.train.trainer import weighted

    records = list(range(10))
    assert weighted(records, 2.0, seed=1) == records * 2
    half = weighted(records, 0.5, seed=1)
    assert len(half) == 5 and len(set(half)) == 5 and set(half) <= set(records)
    assert half == weighted(records, 0.5, seed=1)  # the seed fixes the share
    mixed = weighted(records, 1.5, seed=1)
    assert len(mixed) == 15 and mixed[:10] == records
