"""The analyst's report: dates, aggregation with known counts, filters, the
HTML page (rendered in headless Chromium where it is installed)."""
import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from persian_stance.analysis.aggregate import Filters, load, stance_shares, strongest_examples, topic_shares
from persian_stance.analysis.dates import parse_date


@pytest.mark.parametrize("value, expected", [
    ("2020-10-05", date(2020, 10, 5)),
    ("2020/10/05 14:30", date(2020, 10, 5)),
    ("2020-10-05T08:00:00Z", date(2020, 10, 5)),
    ("1402/05/12", date(2023, 8, 3)),
    ("۱۴۰۲/۰۵/۱۲", date(2023, 8, 3)),
    ("1399-07-06", date(2020, 9, 27)),
    ("۱۳۹۹-۰۷", date(2020, 9, 22)),
    ("1399/13/01", None),
    ("yesterday", None),
    ("", None),
    (None, None),
])
def test_parse_date(value, expected):
    assert parse_date(value) == expected


def _sentence(rid, date_, source, actors=(), topics=()):
    return {"id": rid, "sentence_index": 0, "text": "متن " + rid, "start": 0, "end": 5,
            "topics": {t: (0.9 if t in topics else 0.1) for t in ("syria", "karabakh", "sanctions", "covid")},
            "topic_labels": list(topics), "date": date_, "source": source,
            "actors": [{"actor": a, "spans": [[0, 1]], "stance": s, "scores": _scores(s, p)} for a, s, p in actors]}


def _scores(stance, p):
    rest = (1 - p) / 2
    return {k: (p if k == stance else rest) for k in ("favor", "against", "neutral")}


@pytest.fixture
def labels(tmp_path) -> Path:
    recs = []
    # October 2020 (Gregorian and Jalali dates): turkey 3 against, 1 favor; karabakh on 3 of 4
    recs.append(_sentence("a1", "2020-10-03", "IRNA", [("turkey", "against", 0.9)], ["karabakh"]))
    recs.append(_sentence("a2", "1399/07/20", "IRNA", [("turkey", "against", 0.8)], ["karabakh"]))
    recs.append(_sentence("a3", "۱۳۹۹/۰۷/۲۵", "Fars", [("turkey", "against", 0.6), ("iran", "neutral", 0.7)],
                          ["karabakh"]))
    recs.append(_sentence("a4", "2020-10-30", "Fars", [("turkey", "favor", 0.95)]))
    # November 2020: one turkey mention only (below any sensible min count)
    recs.append(_sentence("a5", "2020-11-02", "IRNA", [("turkey", "neutral", 0.99)], ["covid"]))
    # unreadable date, and an error record
    recs.append(_sentence("a6", "sometime", "IRNA", [("turkey", "against", 0.9)]))
    recs.append({"id": "bad", "file": "x.txt", "line": None, "error": "empty"})
    p = tmp_path / "labels.jsonl"
    p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    return p


def test_shares_counts_and_suppression(labels):
    loaded = load([labels])
    assert loaded.counts["records"] == 7 and loaded.counts["error records"] == 1
    assert loaded.counts["unreadable dates"] == 1
    shares = stance_shares(loaded.mentions, by="month", min_count=3)
    oct_turkey = shares[(shares.period == "2020-10") & (shares.actor == "turkey")].iloc[0]
    assert oct_turkey.n == 4 and oct_turkey.against == pytest.approx(0.75) and oct_turkey.favor == pytest.approx(0.25)
    assert not oct_turkey.suppressed
    nov_turkey = shares[(shares.period == "2020-11") & (shares.actor == "turkey")].iloc[0]
    assert nov_turkey.n == 1 and nov_turkey.suppressed
    # the undated sentence has no month to go to
    assert shares.n.sum() == 6


def test_topic_shares_by_month(labels):
    shares = topic_shares(load([labels]).sentences, by="month", min_count=1).set_index("period")
    assert shares.loc["2020-10", "n"] == 4 and shares.loc["2020-10", "karabakh"] == pytest.approx(0.75)
    assert shares.loc["2020-11", "covid"] == pytest.approx(1.0)


def test_split_by_source(labels):
    shares = stance_shares(load([labels]).mentions, by="none", split_source=True, min_count=1)
    fars = shares[(shares.actor == "turkey") & (shares.source == "Fars")].iloc[0]
    assert fars.n == 2 and fars.favor == pytest.approx(0.5)


def test_filters(labels):
    confident = load([labels], Filters(min_score=0.85))
    assert sorted(confident.mentions.id) == ["a1", "a4", "a5", "a6"]
    karabakh = load([labels], Filters(topics=("karabakh",)))
    assert sorted(karabakh.sentences.id) == ["a1", "a2", "a3"]
    window = load([labels], Filters(since="2020-10-10", until="1399/08/30"))
    assert sorted(window.sentences.id) == ["a2", "a3", "a4", "a5"]
    assert window.counts["outside --since/--until"] == 2  # a1 too early, a6 has no readable date
    iran = load([labels], Filters(actors=("iran",)))
    assert list(iran.mentions.actor) == ["iran"]
    with pytest.raises(ValueError, match="unknown actor 'china'"):
        load([labels], Filters(actors=("china",)))
    with pytest.raises(ValueError, match="--since 'soon' is not a date"):
        load([labels], Filters(since="soon"))


def test_examples_are_the_surest(labels):
    ex = strongest_examples(load([labels]).mentions, per_cell=2)
    against = ex[(ex.actor == "turkey") & (ex.stance == "against")]
    assert list(against.id) == ["a1", "a6"]


def _run(*args):
    return subprocess.run([sys.executable, "-m", "persian_stance.train.cli", "report", *map(str, args)],
                          capture_output=True, text=True)


def test_report_cli_writes_html_and_csv(labels, tmp_path):
    out, csv_dir = tmp_path / "r.html", tmp_path / "csv"
    res = _run(labels, "--out", out, "--csv-dir", csv_dir, "--min-count", "2")
    assert res.returncode == 0, res.stderr
    page = out.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") >= 2 and "dir='rtl'" in page and "http" not in page.split("<body>")[1]
    assert "unreadable dates: 1" in res.stderr
    stance = (csv_dir / "stance_shares.csv").read_text(encoding="utf-8")
    assert "2020-10,turkey,4," in stance


def test_report_says_why_nothing_is_left(labels, tmp_path):
    res = _run(labels, "--out", tmp_path / "r.html", "--since", "2030-01-01")
    assert res.returncode != 0
    assert "no sentence is left" in res.stderr and "outside --since/--until: 6" in res.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    res = _run(empty, "--out", tmp_path / "r.html")
    assert res.returncode != 0 and "the input is empty" in res.stderr


def test_report_rejects_a_file_that_is_not_labels(tmp_path):
    bad = tmp_path / "articles.jsonl"
    bad.write_text(json.dumps({"id": "1", "text": "سلام"}) + "\n", encoding="utf-8")
    res = _run(bad, "--out", tmp_path / "r.html")
    assert res.returncode != 0 and f"{bad}:1" in res.stderr and "no 'topics' field" in res.stderr


def test_report_renders_in_chromium(labels, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    out = tmp_path / "r.html"
    assert _run(labels, "--out", out, "--min-count", "1").returncode == 0
    shot = Path(__file__).resolve().parent / "artifacts" / "report.png"
    shot.parent.mkdir(exist_ok=True)
    res = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                          "--disable-background-networking", "--disable-component-update", "--disable-sync",
                          f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                          "--window-size=1200,1600", out.as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 10_000, res.stderr[-2000:]


def test_a_mention_without_a_stance_is_counted_not_charted(tmp_path):
    """A mention past max_length has no stance (null): the report counts it and
    leaves it out of the stance shares."""
    rec = _sentence("t1", "2020-10-03", "IRNA", [("turkey", "against", 0.9)])
    rec["actors"].append({"actor": "iran", "spans": [[3, 8]], "stance": None, "scores": None, "truncated": True})
    p = tmp_path / "labels.jsonl"
    p.write_text(json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")
    loaded = load([p])
    assert list(loaded.mentions.actor) == ["turkey"]
    assert loaded.counts["mentions not read (past max_length)"] == 1


def test_integer_and_string_ids_side_by_side(tmp_path):
    """JSON ids keep their type in the labels (1 and "1" are two items); the
    report shows them and sorts them without comparing an int with a str."""
    recs = [_sentence("x", "2020-10-03", "IRNA", [("turkey", "against", 0.9)]) for _ in range(2)]
    recs[0]["id"], recs[1]["id"] = 1, "1"
    p = tmp_path / "labels.jsonl"
    p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    loaded = load([p])
    assert len(loaded.mentions) == 2
    assert len(strongest_examples(loaded.mentions, per_cell=5)) == 2
