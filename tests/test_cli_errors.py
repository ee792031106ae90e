"""What the command line says when it cannot start (no model is loaded here)."""
import tomllib

import pytest

from persian_stance.infer.checkpoint import CheckpointError
from persian_stance.infer.cli import main as label_main
from persian_stance.train.cli import main as ps_main

from conftest import ROOT

ARTICLE = "ایران از دولت سوریه حمایت کامل کرد."


@pytest.fixture
def article(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text(ARTICLE, encoding="utf-8")
    return p


@pytest.mark.parametrize("entry", [ps_main, label_main], ids=["persian-stance", "persian-stance-label"])
def test_version(entry, capsys):
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    with pytest.raises(SystemExit) as e:
        entry(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out == f"persian-stance {expected}\n"


@pytest.mark.parametrize("via", ["persian-stance label", "persian-stance-label"])
def test_checkpoint_error_is_one_line_and_the_traceback_needs_debug(via, article, tmp_path, capsys):
    entry = (lambda a: ps_main(["label", *a])) if via == "persian-stance label" else label_main
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json", encoding="utf-8")
    for model, message in [(tmp_path / "nowhere", f"no checkpoint folder at {tmp_path / 'nowhere'}"),
                            (broken, f"{broken / 'config.json'} is damaged")]:
        args = [str(article), "--out", str(tmp_path / "o.jsonl"), "--model", str(model), "--no-progress"]
        assert entry(args) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {message}") and err.count("\n") == 1, err
        with pytest.raises(CheckpointError, match="checkpoint folder|is damaged"):
            entry(args + ["--debug"])


def test_train_config_error_is_one_line(capsys):
    assert ps_main(["train", "--set", "encoder.lora_r=0"]) == 2
    assert capsys.readouterr().err == "error: encoder.lora_r must be at least 1, not 0\n"


@pytest.mark.parametrize("out, problem", [
    (".", "is a folder"),
    ("missing/o.jsonl", "does not exist"),
])
def test_out_is_checked_before_the_model_loads(out, problem, article, tmp_path, capsys):
    # The model named does not exist: an --out error must come first, or the
    # user waits for a model load to learn that --out was wrong.
    rc = label_main([str(article), "--out", str(tmp_path / out), "--model", str(tmp_path / "nowhere"),
                     "--no-progress"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "--out" in err and problem in err and "checkpoint" not in err, err


@pytest.mark.parametrize("flag, value, message", [
    ("--batch-size", "0", "must be at least 1, not 0"),
    ("--max-length", "-5", "must be between 8 and 512, not -5"),
    ("--max-length", "many", "'many' is not an integer"),
    ("--threads", "0", "must be at least 1, not 0"),
    ("--max-chars", "-1", "must be at least 1, not -1"),
])
def test_bad_numbers_are_refused_before_the_model_loads(flag, value, message, article, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        label_main([str(article), "--out", str(tmp_path / "o.jsonl"), "--model", str(tmp_path / "nowhere"),
                    flag, value])
    assert e.value.code == 2
    assert f"argument {flag}: {message}" in capsys.readouterr().err


@pytest.mark.parametrize("name, content, message", [
    ("o.jsonl", '{"id": "a", "error": "empty", "file": "a", "line": null}\nnot json\n'
                '{"id": "b", "error": "empty", "file": "b", "line": null}\n', "o.jsonl:2: not a record"),
    ("o.csv", "id,text\na,b\n", "no header of 'persian-stance label'"),
])
def test_resume_never_rewrites_an_output_it_cannot_read(name, content, message, article, tmp_path, capsys):
    """Only a last line cut off by an interrupted write is repaired; anything
    else is reported, and the file is left as it is, every line after it kept."""
    out = tmp_path / name
    out.write_text(content, encoding="utf-8")
    rc = label_main([str(article), "--out", str(out), "--model", str(tmp_path / "nowhere"), "--resume"])
    assert rc == 2
    assert message in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == content
