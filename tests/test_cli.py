"""Batch labelling from the command line, on the tiny checkpoint."""
import csv
import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from persian_stance.infer.cli import main as label_main

from conftest import sigterm_once_writing

ARTICLE_A = "ایران از دولت سوریه حمایت کامل کرد.\nشیوع کرونا در ترکیه کاهش یافت.\nانتهای پیام\n"
ARTICLE_B = "روسیه تحریم‌های اروپا را غیرقانونی خواند. اسرائیل رژیمی متجاوز و جنایتکار است."


def _label(args, capsys=None) -> int:
    return label_main(args + ["--no-progress"])


def _jsonl(path):
    return [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text(ARTICLE_A, encoding="utf-8")
    (folder / "b.txt").write_text(ARTICLE_B, encoding="utf-8")
    jsonl = tmp_path / "records.jsonl"
    jsonl.write_text(json.dumps({"id": "j1", "text": ARTICLE_B}, ensure_ascii=False) + "\n"
                     + json.dumps({"id": "j2", "body": ARTICLE_A}, ensure_ascii=False) + "\n", encoding="utf-8")
    table = tmp_path / "records.csv"
    with open(table, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["url", "body"])
        w.writerow(["c1", ARTICLE_A])
    return tmp_path, folder, jsonl, table


def test_every_input_format_to_jsonl(tiny_checkpoint, inputs):
    tmp, folder, jsonl, table = inputs
    out = tmp / "out.jsonl"
    rc = _label([str(folder), str(jsonl), "--model", str(tiny_checkpoint), "--out", str(out)])
    assert rc == 1  # j2 has no "text" field
    recs = _jsonl(out)
    ok = [r for r in recs if "error" not in r]
    a, b = str(folder / "a.txt"), str(folder / "b.txt")
    assert {r["id"] for r in ok} == {a, b, "j1"}
    assert {(r["id"], r["file"]) for r in ok} == {(a, a), (b, b), ("j1", str(jsonl))}
    assert [r["sentence_index"] for r in ok if r["id"] == a] == [0, 1]  # boilerplate line dropped
    for r in ok:
        assert set(r) >= {"id", "sentence_index", "text", "topics", "topic_labels", "actors"}
        assert set(r["topics"]) == {"syria", "karabakh", "sanctions", "covid"}
        for a in r["actors"]:
            assert set(a) >= {"actor", "spans", "stance", "scores"}
            for s, e in a["spans"]:
                assert r["text"][s:e]  # spans point into the sentence text
    errors = [r for r in recs if "error" in r]
    assert errors == [{"id": "j2", "file": str(jsonl), "line": 2, "error": "field 'text' is missing"}]
    # CSV input with other field names
    out2 = tmp / "out2.jsonl"
    rc = _label([str(table), "--id-field", "url", "--text-field", "body", "--model", str(tiny_checkpoint),
                 "--out", str(out2)])
    assert rc == 0
    assert {r["id"] for r in _jsonl(out2)} == {"c1"}


def test_csv_output_round_trip(tiny_checkpoint, inputs):
    from persian_stance.infer.outputs import read_output

    tmp, folder, _, _ = inputs
    out_j, out_c = tmp / "o.jsonl", tmp / "o.csv"
    assert _label([str(folder), "--model", str(tiny_checkpoint), "--out", str(out_j)]) == 0
    assert _label([str(folder), "--model", str(tiny_checkpoint), "--out", str(out_c)]) == 0
    recs = read_output(out_j, "jsonl")
    assert recs == _jsonl(out_j)
    assert read_output(out_c, "csv") == recs


def test_record_is_the_api_result_with_its_id(tiny_checkpoint, tmp_path):
    """One schema: the command line writes exactly SentenceResult.to_dict(), no field dropped."""
    from persian_stance.infer.predictor import Predictor

    (tmp_path / "a.txt").write_text(ARTICLE_A, encoding="utf-8")
    out = tmp_path / "o.jsonl"
    assert _label([str(tmp_path / "a.txt"), "--model", str(tiny_checkpoint), "--out", str(out)]) == 0
    api = Predictor.load(tiny_checkpoint).predict_article(ARTICLE_A)
    a = str(tmp_path / "a.txt")
    assert _jsonl(out) == [{"id": a, **s.to_dict(), "file": a} for s in api.sentences]
    assert {"surfaces", "mention_found"} <= set(_jsonl(out)[0]["actors"][0])


def test_sentences_mode_does_not_split(tiny_checkpoint, tmp_path):
    src = tmp_path / "s.jsonl"
    src.write_text(json.dumps({"id": "s1", "text": ARTICLE_B}, ensure_ascii=False) + "\n", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    assert _label([str(src), "--sentences", "--model", str(tiny_checkpoint), "--out", str(out)]) == 0
    recs = _jsonl(out)
    assert len(recs) == 1 and recs[0]["text"] == ARTICLE_B


def test_standard_input(tiny_checkpoint, tmp_path):
    out = tmp_path / "o.jsonl"
    proc = subprocess.run([sys.executable, "-m", "persian_stance.infer.cli", "-", "--model", str(tiny_checkpoint),
                           "--out", str(out), "--no-progress"], input=ARTICLE_B.encode(), capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode()
    assert [r["id"] for r in _jsonl(out)] == ["stdin", "stdin"]


def test_bad_input_gives_error_records_and_the_rest_is_labelled(tiny_checkpoint, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the inputs are named relative to it, and so are the ids
    (tmp_path / "good.txt").write_text(ARTICLE_B, encoding="utf-8")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\x00\x00\x01\x02")
    (tmp_path / "latin1.txt").write_bytes("ایران".encode("utf-8")[:3] + b"\xff\xfe rest")
    (tmp_path / "english.txt").write_text("Nothing here is written in Persian at all.", encoding="utf-8")
    (tmp_path / "huge.txt").write_text("ایران و ترکیه. " * 20000, encoding="utf-8")
    bad_jsonl = tmp_path / "bad.jsonl"
    bad_jsonl.write_text('{"id": "x1", "text": "ایران و ترکیه همکاری کردند."}\n{not json\n', encoding="utf-8")
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text('id,text\nr1,"ترکیه و ایران همکاری کردند."\nr2,"سوریه",extra\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    files = ["good.txt", "empty.txt", "binary.txt", "latin1.txt", "english.txt", "huge.txt", "bad.jsonl", "bad.csv"]
    rc = _label(files + ["--model", str(tiny_checkpoint), "--out", str(out), "--max-chars", "100000"])
    assert rc == 1
    recs = _jsonl(out)
    errors = {r["id"]: r["error"] for r in recs if "error" in r}
    assert errors["empty.txt"] == "empty input"
    assert errors["binary.txt"].startswith("binary file")
    assert errors["latin1.txt"].startswith("not valid utf-8 at byte")
    assert errors["english.txt"].startswith("no Persian text")
    assert errors["huge.txt"].startswith("text too long")
    assert errors["bad.jsonl:2"].startswith("malformed JSON")
    assert errors["r2"].startswith("malformed CSV row")
    assert next(r for r in recs if r["id"] == "r2")["line"] == 3
    labelled = {r["id"] for r in recs if "error" not in r}
    assert labelled == {"good.txt", "x1", "r1"}


def test_resume_skips_done_ids_and_repairs_a_cut_line(tiny_checkpoint, inputs):
    tmp, folder, _, _ = inputs
    (folder / "c.txt").write_text(ARTICLE_A, encoding="utf-8")
    full = tmp / "full.jsonl"
    assert _label([str(folder), "--model", str(tiny_checkpoint), "--out", str(full)]) == 0
    expected = _jsonl(full)
    # a run killed in the middle of writing b.txt: a.txt complete, b.txt's first line cut
    lines = full.read_text(encoding="utf-8").splitlines(keepends=True)
    a_lines = [l for l in lines if json.loads(l)["id"] == str(folder / "a.txt")]
    b_first = next(l for l in lines if json.loads(l)["id"] == str(folder / "b.txt"))
    partial = tmp / "partial.jsonl"
    partial.write_text("".join(a_lines) + b_first[: len(b_first) // 2], encoding="utf-8")
    assert _label([str(folder), "--model", str(tiny_checkpoint), "--out", str(partial), "--resume"]) == 0
    got = _jsonl(partial)
    key = lambda r: (r["id"], r["sentence_index"])  # noqa: E731
    assert sorted(map(key, got)) == sorted(map(key, expected))
    # and a second resume finds nothing left to do
    assert _label([str(folder), "--model", str(tiny_checkpoint), "--out", str(partial), "--resume"]) == 0
    assert len(_jsonl(partial)) == len(expected)


def test_stopping_mid_run_leaves_a_valid_file(tiny_checkpoint, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(400):
        (folder / f"{i:03d}.txt").write_text(ARTICLE_A + ARTICLE_B, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "persian_stance.infer.cli", str(folder), "--model",
                             str(tiny_checkpoint), "--out", str(out), "--no-progress", "--batch-size", "4"],
                            stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and (not out.exists() or out.stat().st_size == 0):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in (130, 0), err.decode()
    recs = _jsonl(out)  # every line parses
    assert recs
    done = {r["id"] for r in recs}
    if proc.returncode == 130:
        assert len(done) < 400
        assert b"--resume" in err
    # every article present is complete (all its sentences)
    per_id = {}
    for r in recs:
        per_id.setdefault(r["id"], []).append(r["sentence_index"])
    assert all(sorted(v) == list(range(len(v))) for v in per_id.values())


def test_keep_fields_travel_to_every_record_and_back(tiny_checkpoint, tmp_path):
    from persian_stance.analysis.aggregate import load
    from persian_stance.infer.outputs import read_output

    src = tmp_path / "news.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [
        {"id": "n1", "text": ARTICLE_A, "date": "۱۳۹۹/۰۷/۲۰", "source": "IRNA", "url": "http://x/1"},
        {"id": "n2", "text": ARTICLE_B, "source": "Fars"},  # no date: kept as null
        {"id": "n3", "date": "2020-10-01", "source": "Fars"},  # no text: an error record keeps the fields too
    ]), encoding="utf-8")
    out_j, out_c = tmp_path / "o.jsonl", tmp_path / "o.csv"
    for out in (out_j, out_c):
        rc = _label([str(src), "--keep-fields", "date,source", "--model", str(tiny_checkpoint), "--out", str(out)])
        assert rc == 1  # n3 failed
    recs = _jsonl(out_j)
    assert {(r["id"], r["date"], r["source"]) for r in recs if "error" not in r} == \
        {("n1", "۱۳۹۹/۰۷/۲۰", "IRNA"), ("n2", None, "Fars")}
    assert [r for r in recs if "error" in r][0]["date"] == "2020-10-01"
    assert all("url" not in r for r in recs)
    assert list(recs[0])[:3] == ["id", "date", "source"]
    # CSV carries them as columns after the id, and reads back the same (CSV has no null: "")
    back = read_output(out_c, "csv")
    assert [(r["id"], r["date"], r["source"]) for r in back] == \
        [(r["id"], r["date"] or "", r["source"]) for r in recs]
    # the report reads the kept date (Jalali, Persian digits) and outlet
    loaded = load([out_j])
    assert loaded.counts["no date"] == sum(r["id"] == "n2" for r in recs if "error" not in r)
    assert set(loaded.sentences["source"]) == {"IRNA", "Fars"}
    assert str(loaded.sentences.loc[loaded.sentences.id == "n1", "date"].iloc[0].date()) == "2020-10-11"


def test_keep_fields_must_not_overwrite_the_record(tiny_checkpoint, tmp_path, capsys):
    src = tmp_path / "news.jsonl"
    src.write_text(json.dumps({"id": "n1", "text": ARTICLE_A}, ensure_ascii=False) + "\n", encoding="utf-8")
    rc = _label([str(src), "--keep-fields", "source,topics", "--model", str(tiny_checkpoint),
                 "--out", str(tmp_path / "o.jsonl")])
    assert rc == 2 and "topics" in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()


def _sorted(records):
    return sorted(json.dumps(r, ensure_ascii=False, sort_keys=True) for r in records)


def test_ids_are_unique_and_stable_and_never_merged(tiny_checkpoint, tmp_path, monkeypatch):
    """Two folders that both hold a.txt, a null id, 1 and "1", an id given twice:
    every item keeps its own id, and a clash is an error record, never a skip."""
    from pathlib import Path

    monkeypatch.chdir(tmp_path)
    for folder, text in (("x", ARTICLE_A), ("y", ARTICLE_B)):
        Path(folder).mkdir()
        (Path(folder) / "a.txt").write_text(text, encoding="utf-8")
    Path("recs.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [
        {"id": 1, "text": ARTICLE_B}, {"id": "1", "text": ARTICLE_A}, {"id": None, "text": ARTICLE_B},
        {"text": ARTICLE_B}, {"id": "d", "text": ARTICLE_A}, {"id": "d", "text": ARTICLE_B}]), encoding="utf-8")
    args = ["x", "y", "recs.jsonl", "--model", str(tiny_checkpoint), "--out", "o.jsonl"]
    assert _label(args) == 1
    recs = _jsonl(tmp_path / "o.jsonl")
    labelled = {(json.dumps(r["id"]), r["file"]) for r in recs if "error" not in r}
    assert labelled == {('"x/a.txt"', "x/a.txt"), ('"y/a.txt"', "y/a.txt"), ("1", "recs.jsonl"),
                        ('"1"', "recs.jsonl"), ('"recs.jsonl:4"', "recs.jsonl"), ('"d"', "recs.jsonl")}
    assert [r["text"] for r in recs if r["id"] == "d" and "error" not in r][0] == ARTICLE_A.split("\n")[0]
    assert [(r["id"], r["line"], r["error"]) for r in recs if "error" in r] == [
        ("recs.jsonl:3", 3, "field 'id' is null (leave it out to use file:line as the id)"),
        ("d", 6, "duplicate id 'd' (first at recs.jsonl:5)")]
    # resuming finds nothing left to label, and still reports the clash (once)
    assert _label(args + ["--resume"]) == 1
    assert _sorted(_jsonl(tmp_path / "o.jsonl")) == _sorted(recs)
    # CSV cannot tell 1 from "1": the second is an error there, saying why
    assert _label(args[:-2] + ["--out", "o.csv"]) == 1
    from persian_stance.infer.outputs import read_output

    errors = [r["error"] for r in read_output(tmp_path / "o.csv", "csv") if "error" in r]
    assert "duplicate id '1' (first at recs.jsonl:1 as 1; a CSV cell cannot tell them apart: write JSON Lines)" \
        in errors


def test_resume_tries_failed_items_again_unless_skip_failed(tiny_checkpoint, tmp_path, monkeypatch):
    from pathlib import Path

    monkeypatch.chdir(tmp_path)
    Path("good.txt").write_text(ARTICLE_B, encoding="utf-8")
    old_text = ARTICLE_A.replace("ی", "ي").replace("ک", "ك")  # Arabic yeh and kaf, as cp1256 writes them
    Path("old.txt").write_bytes(old_text.encode("cp1256"))  # saved by an old Windows program
    base = ["good.txt", "old.txt", "--model", str(tiny_checkpoint), "--out", "o.jsonl"]
    assert _label(base) == 1
    first = _jsonl(tmp_path / "o.jsonl")
    assert [r["error"] for r in first if r["id"] == "old.txt"][0].endswith("try --encoding cp1256)")
    # --skip-failed: today's behaviour, the error record stays and nothing is tried again
    assert _label(base + ["--resume", "--skip-failed", "--encoding", "cp1256"]) == 0
    assert _jsonl(tmp_path / "o.jsonl") == first
    # plain --resume tries it again, and its error record is replaced by its labels
    assert _label(base + ["--resume", "--encoding", "cp1256"]) == 0
    again = _jsonl(tmp_path / "o.jsonl")
    assert [r for r in again if r["id"] == "good.txt"] == [r for r in first if r["id"] == "good.txt"]
    old = [r for r in again if r["id"] == "old.txt"]
    assert old and not any("error" in r for r in old)
    assert [r["text"] for r in old] == old_text.split("\n")[:2]
    with pytest.raises(Exception, match="--skip-failed is a choice of --resume"):
        label_main(base + ["--skip-failed", "--debug"])


def test_resume_of_a_csv_cut_mid_row(tiny_checkpoint, inputs, capsys):
    from persian_stance.infer.outputs import read_output

    tmp, folder, _, _ = inputs
    full, partial = tmp / "full.csv", tmp / "partial.csv"
    assert _label([str(folder), "--model", str(tiny_checkpoint), "--out", str(full)]) == 0
    raw = full.read_text(encoding="utf-8")
    partial.write_text(raw[: len(raw) - 40], encoding="utf-8")  # killed inside the last row
    assert _label([str(folder), "--model", str(tiny_checkpoint), "--out", str(partial), "--resume"]) == 0
    assert _sorted(read_output(partial, "csv")) == _sorted(read_output(full, "csv"))
    # other columns (here: a kept field) cannot be appended to it
    assert _label([str(folder), "--model", str(tmp / "nowhere"), "--out", str(partial), "--resume",
                   "--keep-fields", "date"]) == 2
    assert "has other columns" in capsys.readouterr().err


def test_progress_is_counted_in_sentences(tiny_checkpoint, inputs, capsys):
    import re

    tmp, folder, _, _ = inputs
    out = tmp / "o.jsonl"
    assert label_main([str(folder), "--model", str(tiny_checkpoint), "--out", str(out)]) == 0  # bar shown
    err = capsys.readouterr().err
    counts = re.findall(r"(\d+) sentences \[", err)
    assert counts and int(counts[-1]) == len(_jsonl(out))


def test_sigterm_inside_one_huge_article_stops_within_seconds(tiny_checkpoint, tmp_path):
    """The huge article is being labelled when SIGTERM comes: the run stops after
    the current forward pass, keeps the article finished before it, and writes
    nothing of the huge one (not half of it)."""
    small, huge = tmp_path / "small.txt", tmp_path / "huge.txt"
    small.write_text(ARTICLE_B, encoding="utf-8")
    # 20,000 different sentences: minutes to label, even for the tiny model
    huge.write_text("".join(f"ایران و ترکیه در دور {i} گفت‌وگو کردند. " for i in range(20000)), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "persian_stance.infer.cli", str(small), str(huge), "--model",
                             str(tiny_checkpoint), "--out", str(out), "--no-progress", "--batch-size", "4",
                             "--max-chars", "10000000"], stderr=subprocess.PIPE)
    err, took = sigterm_once_writing(proc, out, wait=60, settle=1.0)  # well inside the huge article by then
    assert proc.returncode == 130, err.decode()
    assert took < 5, f"stopped {took:.1f} s after SIGTERM"
    recs = _jsonl(out)
    assert {r["id"] for r in recs} == {str(small)}
    assert [r["sentence_index"] for r in recs] == [0, 1]
