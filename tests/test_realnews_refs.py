"""Real-news pool sentences stored as references: joined at load time, checked
against the pool, never written back as text. Uses a small pool made here, so
it runs without ../shared."""
import json
from pathlib import Path

import pytest

from persian_stance.train.corpus import REAL_SPLITS, training_data
from persian_stance.train.realnews import POOL_ENV, reference_id, sentence_hash
from persian_stance.train.records import DataError, check_files, load_records

ARTICLE = "عنوان خبر\nروحانی با پوتین گفت‌وگو کرد. تحریم‌های آمریکا علیه ایران ادامه دارد."


@pytest.fixture
def pool(tmp_path, monkeypatch) -> Path:
    p = tmp_path / "pool.jsonl"
    p.write_text(json.dumps({"id": "art-1", "source": "test", "text": ARTICLE}, ensure_ascii=False) + "\n",
                 encoding="utf-8")
    monkeypatch.setenv(POOL_ENV, str(p))
    return p


def _ref(sentence: str, **over) -> dict:
    start = ARTICLE.index(sentence)
    rec = {"id": reference_id("art-1", start), "article": "art-1", "start": start, "end": start + len(sentence),
           "hash": sentence_hash(sentence), "topics": ["sanctions"], "stances": {"usa": "against", "iran": "neutral"},
           "source": "realnews"}
    rec.update(over)
    return rec


def _write(tmp_path: Path, recs: list[dict]) -> Path:
    p = tmp_path / "refs.jsonl"
    p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    return p


SENT = "تحریم‌های آمریکا علیه ایران ادامه دارد."


def test_reference_is_joined_with_the_pool_text(pool, tmp_path):
    rec = _ref(SENT)
    (r,) = load_records([_write(tmp_path, [rec])])
    assert r.text == SENT
    assert r.topics == ("sanctions",) and r.stances == {"iran": "neutral", "usa": "against"}
    # Written back, a reference stays a reference: the text never leaves the pool.
    out = r.to_json()
    assert "text" not in out and out["hash"] == rec["hash"] and out["start"] == rec["start"]


@pytest.mark.parametrize("change, message", [
    ({"article": "art-404"}, "article 'art-404' is not in the pool"),
    ({"end": 10_000}, "lie outside article 'art-1'"),
    ({"hash": "000000000000"}, "hash mismatch for 'art-1'"),
    ({"start": -1}, "'start' must be a non-negative integer"),
])
def test_broken_references_name_file_line_and_problem(pool, tmp_path, change, message):
    good = _ref("روحانی با پوتین گفت‌وگو کرد.", topics=[], stances={"iran": "neutral", "russia": "neutral"})
    path = _write(tmp_path, [good, _ref(SENT, **change)])
    records, issues = check_files([path], check_mentions=False)
    errors = [str(i) for i in issues if i.level == "error"]
    assert len(records) == 1 and len(errors) == 1
    assert errors[0].startswith(f"{path}:2: error: ") and message in errors[0]


def test_shifted_offsets_fail_the_hash(pool, tmp_path):
    rec = _ref(SENT)
    rec["start"] += 1
    with pytest.raises(DataError, match="hash mismatch"):
        load_records([_write(tmp_path, [rec])])


def test_missing_pool_is_one_clear_error_per_file(tmp_path, monkeypatch):
    monkeypatch.setenv(POOL_ENV, str(tmp_path / "nowhere.jsonl"))
    path = _write(tmp_path, [_ref(SENT), _ref(SENT, id="rn-other")])
    _, issues = check_files([path], check_mentions=False)
    errors = [str(i) for i in issues if i.level == "error"]
    assert len(errors) == 1
    assert "real-news pool not found at" in errors[0] and "nowhere.jsonl" in errors[0]


def test_training_skips_real_splits_without_the_pool(tmp_path, monkeypatch):
    monkeypatch.setenv(POOL_ENV, str(tmp_path / "nowhere.jsonl"))
    said = []

    class Log:
        def warning(self, msg):
            said.append(msg)

    files = training_data(["train", "real-train"], log=Log())
    assert REAL_SPLITS["real-train"] not in files and files  # the authored files remain
    assert len(said) == 1 and "real-train" in said[0] and "nowhere.jsonl" in said[0]


def test_training_keeps_real_splits_with_the_pool(pool):
    assert REAL_SPLITS["real-train"] in training_data(["train", "real-train"])


def test_real_splits_share_no_article_and_no_sentence():
    """Real-news splits are split by article: a train article (either round) in
    dev or test would leak near-duplicate sentences into the figures we report.
    Reads only the references, so it runs without the pool."""
    articles, ids = {}, {}
    for name, path in REAL_SPLITS.items():
        if not path.is_file():
            continue
        recs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        assert recs, path
        articles[name] = {r["article"] for r in recs}
        ids[name] = {r["id"] for r in recs}
    assert {"real-train", "real-dev", "real-test"} <= set(articles)
    side = {name: "train" if name.startswith("real-train") else name for name in articles}
    for a in articles:
        for b in articles:
            if a < b:
                assert not ids[a] & ids[b], (a, b)
                if side[a] != side[b]:
                    assert not articles[a] & articles[b], (a, b)
