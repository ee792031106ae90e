"""A misspelt encoder name, with no hub to ask, fails at once in one line."""
import time

import pytest

from persian_stance.infer.encoders import EncoderLoadError, load_tokenizer, spec_for
from persian_stance.train.cli import main as ps_main


@pytest.fixture(params=["offline", "unreachable"])
def no_hub(request, monkeypatch):
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    if request.param == "offline":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:
        monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens
    return request.param


def test_misspelt_encoder_fails_within_a_second(no_hub):
    import transformers  # noqa: F401 - its import time is not the failure's

    t0 = time.monotonic()
    with pytest.raises(EncoderLoadError) as e:
        load_tokenizer(spec_for("e5-smal"))
    assert time.monotonic() - t0 < 1.0
    message = str(e.value)
    assert "\n" not in message
    assert message.startswith("unknown encoder 'e5-smal': not a preset (e5-small, parsbert) nor a local folder")
    assert ("HF_HUB_OFFLINE is set" if no_hub == "offline" else "no connection to 127.0.0.1:9") in message


def test_train_refuses_a_misspelt_encoder_before_reading_data(no_hub, tmp_path, capsys):
    t0 = time.monotonic()
    rc = ps_main(["train", "--encoder", "e5-smal", "--output", str(tmp_path / "ckpt"),
                  "--set", f"output.work_dir='{tmp_path / 'work'}'"])
    assert rc == 2 and time.monotonic() - t0 < 1.0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: encoder.name: unknown encoder 'e5-smal'"), err


def test_a_local_folder_is_not_looked_up(tmp_path, monkeypatch):
    from persian_stance.infer.encoders import check_encoder_name

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    check_encoder_name(str(tmp_path))  # a folder: from_pretrained will say what is missing in it
    check_encoder_name("e5-small")
