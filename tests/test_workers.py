"""``persian-stance label --workers N``: the same output as one process, on the tiny checkpoint."""
import json
import shutil
import subprocess
import sys

import pytest

from persian_stance.infer.cli import main as label_main
from persian_stance.infer.workers import default_workers, threads_per_worker

from conftest import ROOT, sigterm_once_writing

ARTICLE_B = "روسیه تحریم‌های اروپا را غیرقانونی خواند. اسرائیل رژیمی متجاوز و جنایتکار است."


def _label(args) -> int:
    return label_main(args + ["--no-progress"])


def _jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    """The seed articles and a file of every kind of bad input, named relative
    to tmp_path (the ids are the names given)."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_text("", encoding="utf-8")
    (bad / "binary.txt").write_bytes(b"\x89PNG\x00\x00\x01\x02")
    (bad / "english.txt").write_text("Nothing here is written in Persian at all.", encoding="utf-8")
    (bad / "boilerplate.txt").write_text("انتهای پیام\n", encoding="utf-8")
    (tmp_path / "recs.jsonl").write_text(
        json.dumps({"id": "r1", "text": ARTICLE_B}, ensure_ascii=False) + "\n{not json\n"
        + json.dumps({"id": "r3", "body": "no text field"}) + "\n"
        + json.dumps({"id": "r1", "text": ARTICLE_B}, ensure_ascii=False) + "\n", encoding="utf-8")
    return ["seeds", "bad", "recs.jsonl"]


EXPECTED_ERRORS = {"bad/empty.txt": "empty input", "bad/binary.txt": "binary file",
                   "bad/english.txt": "no Persian text", "bad/boilerplate.txt": "no sentences left",
                   "recs.jsonl:2": "malformed JSON", "r3": "field 'text' is missing", "r1": "duplicate id"}


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_two_workers_write_the_same_bytes_as_one(tiny_checkpoint, corpus, tmp_path, fmt):
    # --batch-size 4: groups of 16 sentences, so the seeds make many groups
    # and the two workers really share them.
    base = corpus + ["--model", str(tiny_checkpoint), "--batch-size", "4"]
    assert _label(base + ["--workers", "1", "--out", f"one.{fmt}"]) == 1
    assert _label(base + ["--workers", "2", "--out", f"two.{fmt}"]) == 1
    one, two = (tmp_path / f"one.{fmt}").read_bytes(), (tmp_path / f"two.{fmt}").read_bytes()
    assert one == two
    if fmt == "jsonl":
        recs = _jsonl(tmp_path / "one.jsonl")
        assert len({r["id"] for r in recs if "error" not in r}) == 6  # five seeds and r1


@pytest.mark.parametrize("workers", [1, 2])
def test_bad_input_gives_error_records_under_every_worker_count(tiny_checkpoint, corpus, tmp_path, workers):
    assert _label(corpus + ["--model", str(tiny_checkpoint), "--workers", str(workers), "--out", "o.jsonl"]) == 1
    recs = _jsonl(tmp_path / "o.jsonl")
    errors = {r["id"]: r["error"] for r in recs if "error" in r}
    assert set(errors) == set(EXPECTED_ERRORS)
    for rid, start in EXPECTED_ERRORS.items():
        assert errors[rid].startswith(start), (rid, errors[rid])


def test_resume_with_workers_completes_a_cut_output(tiny_checkpoint, corpus, tmp_path):
    # Without the repeated id: --resume --skip-failed writes a duplicate-id error
    # record again on every run, with any number of workers.
    recs = tmp_path / "recs.jsonl"
    recs.write_text("".join(recs.read_text(encoding="utf-8").splitlines(keepends=True)[:3]), encoding="utf-8")
    base = corpus + ["--model", str(tiny_checkpoint), "--batch-size", "4"]
    assert _label(base + ["--workers", "1", "--out", "full.jsonl"]) == 1
    full = (tmp_path / "full.jsonl").read_text(encoding="utf-8")
    lines = full.splitlines(keepends=True)
    # killed while writing the third seed article: two whole articles and half a line
    ids = list(dict.fromkeys(json.loads(line)["id"] for line in lines))
    keep = [line for line in lines if json.loads(line)["id"] in ids[:2]]
    cut = next(line for line in lines if json.loads(line)["id"] == ids[2])
    (tmp_path / "part.jsonl").write_text("".join(keep) + cut[: len(cut) // 2], encoding="utf-8")
    assert _label(base + ["--workers", "2", "--out", "part.jsonl", "--resume"]) == 1
    assert (tmp_path / "part.jsonl").read_text(encoding="utf-8") == full  # same records, same order here
    # nothing is left to do; the failed items are tried again and fail again, in place
    assert _label(base + ["--workers", "2", "--out", "part.jsonl", "--resume"]) == 1
    assert sorted((tmp_path / "part.jsonl").read_text(encoding="utf-8").splitlines()) == sorted(full.splitlines())
    assert _label(base + ["--workers", "2", "--out", "part.jsonl", "--resume", "--skip-failed"]) == 0  # nothing tried
    assert sorted((tmp_path / "part.jsonl").read_text(encoding="utf-8").splitlines()) == sorted(full.splitlines())


def test_progress_counts_sentences_with_workers(tiny_checkpoint, corpus, tmp_path, capsys):
    import re

    assert label_main(["seeds", "--model", str(tiny_checkpoint), "--workers", "2", "--out", "o.jsonl"]) == 0
    err = capsys.readouterr().err
    counts = re.findall(r"(\d+) sentences \[", err)
    assert counts and int(counts[-1]) == len(_jsonl(tmp_path / "o.jsonl"))
    assert "2 workers × 1 thread(s)" in err or "2 workers" in err


def test_sigterm_with_workers_stops_fast_and_keeps_whole_articles(tiny_checkpoint, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(300):
        # different sentences per article, so that none is dropped as a repeat
        (folder / f"{i:03d}.txt").write_text("".join(f"ایران و ترکیه در دور {i}-{j} گفت‌وگو کردند. "
                                                     for j in range(40)), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "persian_stance.infer.cli", str(folder), "--model",
                             str(tiny_checkpoint), "--out", str(out), "--no-progress", "--batch-size", "4",
                             "--workers", "2"], stderr=subprocess.PIPE)
    err, took = sigterm_once_writing(proc, out, wait=120)
    assert proc.returncode == 130, err.decode()
    assert took < 5, f"stopped {took:.1f} s after SIGTERM"
    recs = _jsonl(out)
    per_id: dict = {}
    for r in recs:
        per_id.setdefault(r["id"], []).append(r["sentence_index"])
    assert 0 < len(per_id) < 300
    assert all(v == list(range(40)) for v in per_id.values())  # whole articles only
    # in input order, with no gap: what was written is a prefix of the full run
    assert list(per_id) == [str(folder / f"{i:03d}.txt") for i in range(len(per_id))]


def test_a_worker_that_cannot_load_the_model_stops_the_run_before_writing(tiny_checkpoint, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_checkpoint, broken)
    weights = next(broken.glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:100])
    (tmp_path / "a.txt").write_text(ARTICLE_B, encoding="utf-8")
    out = tmp_path / "o.jsonl"
    out.write_text("kept\n", encoding="utf-8")
    rc = _label([str(tmp_path / "a.txt"), "--model", str(broken), "--workers", "2", "--out", str(out)])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(weights.name) in err, err
    assert out.read_text(encoding="utf-8") == "kept\n"  # --out is opened only once the model loaded


def test_default_split():
    gb = 2 ** 30
    assert default_workers(2, "cpu") == 2 and threads_per_worker(2, 2) == 1
    assert default_workers(16, "cpu", memory=64 * gb) == 16
    assert default_workers(16, "cpu", memory=6 * gb) == 4  # 1.5 GB each
    assert default_workers(16, "cpu", memory=gb) == 1  # never none
    assert default_workers(16, "cpu", one_article=True) == 1
    assert default_workers(16, "cuda") == 1
    assert threads_per_worker(16, 4) == 4
    assert threads_per_worker(2, 3) == 1  # more workers than cores: one thread each, never zero
