import json
import subprocess
import sys
from pathlib import Path

import pytest

from persian_stance.train.records import DataError, check_files, load_records

from conftest import ROOT

GOOD = {"id": "x-1", "text": "روحانی با پوتین گفت‌وگو کرد.", "topics": [], "stances": {"iran": "neutral", "russia": "neutral"}}


def _write(tmp_path: Path, lines: list, name: str = "f.jsonl") -> Path:
    p = tmp_path / name
    p.write_text("\n".join(l if isinstance(l, str) else json.dumps(l, ensure_ascii=False) for l in lines) + "\n",
                 encoding="utf-8")
    return p


def _errors(path: Path) -> list[str]:
    _, issues = check_files([path])
    return [str(i) for i in issues if i.level == "error"]


def test_good_file_has_no_issues(tmp_path):
    p = _write(tmp_path, [GOOD])
    records, issues = check_files([p])
    assert issues == [] and len(records) == 1
    assert records[0].stances == {"iran": "neutral", "russia": "neutral"}


@pytest.mark.parametrize(
    "bad, message",
    [
        ({**GOOD, "topics": ["economy"]}, "unknown topic(s) ['economy']"),
        ({**GOOD, "stances": {"china": "neutral"}}, "unknown actor 'china'"),
        ({**GOOD, "stances": {"iran": "positive"}}, "unknown stance 'positive' for 'iran'"),
        ({k: v for k, v in GOOD.items() if k != "stances"}, "missing field(s): stances"),
        ({**GOOD, "text": "   "}, "'text' is empty"),
        ({**GOOD, "topics": "syria"}, "'topics' must be a list of strings"),
        ({**GOOD, "topics": ["syria", "syria"]}, "repeated topic"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_each_kind_of_error_names_file_and_line(tmp_path, bad, message):
    other = {**GOOD, "id": "x-0", "text": "متن دیگری بدون بازیگر."}
    p = _write(tmp_path, [other, bad])
    errors = _errors(p)
    assert len(errors) == 1
    assert errors[0].startswith(f"{p}:2: error:")
    assert message in errors[0]


def test_duplicate_ids_and_texts(tmp_path):
    p = _write(tmp_path, [GOOD, {**GOOD, "text": "متن تازه"}, {**GOOD, "id": "x-2", "text": "روحاني با پوتين گفت‌وگو كرد."}])
    errors = _errors(p)
    assert f"{p}:2: error: duplicate id 'x-1' (first at {p}:1)" in errors
    assert f"{p}:3: error: duplicate text (same as {p}:1)" in errors


def test_duplicates_across_files(tmp_path):
    a = _write(tmp_path, [GOOD], "a.jsonl")
    b = _write(tmp_path, [GOOD], "b.jsonl")
    _, issues = check_files([a, b])
    assert any(str(i).startswith(f"{b}:1: error: duplicate id") for i in issues)


def test_invalid_utf8(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_bytes(json.dumps(GOOD).encode() + b"\n" + b'{"id": "\xff"}\n')
    assert any(e.startswith(f"{p}:2: error: not valid UTF-8") for e in _errors(p))


def test_actor_without_a_mention_is_a_warning(tmp_path):
    p = _write(tmp_path, [{**GOOD, "stances": {"iran": "neutral", "russia": "neutral", "turkey": "favor"}}])
    records, issues = check_files([p])
    assert len(records) == 1
    assert [str(i) for i in issues] == [
        f"{p}:1: warning: actor 'turkey' is labelled but the detector finds no mention of it"]


def test_load_records_refuses_errors(tmp_path):
    p = _write(tmp_path, [GOOD, {**GOOD, "id": "x-2", "text": "دیگر", "topics": ["economy"]}])
    with pytest.raises(DataError, match=r"f\.jsonl:2: error: unknown topic"):
        load_records([p])


def test_validate_command_exit_status(tmp_path):
    good = _write(tmp_path, [GOOD], "good.jsonl")
    bad = _write(tmp_path, [{**GOOD, "stances": {"iran": "maybe"}}], "bad.jsonl")
    cmd = [sys.executable, "-m", "persian_stance.train.cli", "validate"]
    ok = subprocess.run(cmd + [str(good)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    fail = subprocess.run(cmd + [str(bad)], capture_output=True, text=True)
    assert fail.returncode == 1
    assert f"{bad}:1: error: unknown stance 'maybe' for 'iran'" in fail.stderr


def test_every_labelled_file_in_data_validates():
    """The corpus, the real-news splits and the seed sentences together (ids and
    texts unique across them); any other labelled file in data/ (e.g. a blind
    second labelling, which repeats corpus ids) on its own. Real-news files
    hold references into ../shared's pool, so they are checked only where it is."""
    from persian_stance.train.corpus import REAL_SPLITS, REALNEWS_DIR, SEEDS_FILE, batch_files
    from persian_stance.train.realnews import pool_path

    corpus = list(batch_files().values()) + [SEEDS_FILE]
    assert len(corpus) > 1
    real = [p for p in REAL_SPLITS.values() if p.is_file()]
    not_labelled = {REALNEWS_DIR / "selection" / "references.jsonl"}
    others = [p for p in sorted((ROOT / "data").rglob("*.jsonl")) if p not in corpus + real and p not in not_labelled]
    if not pool_path().is_file():
        others = [p for p in others if REALNEWS_DIR not in p.parents]
        real = []
    groups = [corpus + real] + [[p] for p in others]
    for files in groups:
        records, issues = check_files(files, check_mentions=False)
        assert records, files
        assert [str(i) for i in issues if i.level == "error"] == []
