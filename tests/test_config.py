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
