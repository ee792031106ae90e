"""k-fold cross-validation by document."""
import json

import pytest

from persian_stance.train.crossval import crossval, document_of, folds_by_document

from conftest import TINY_RECORDS, tiny_config


def test_document_of_strips_only_the_position():
    assert document_of("seed-000-s07") == "seed-000"
    assert document_of("a-b01-042") == "a-b01"
    assert document_of("d-0138c6dcac") == "d-0138c6dcac"
    assert document_of("d-0138274655") == "d-0138274655"  # a hash that happens to be all digits


def test_folds_never_split_a_document():
    ids = [f"doc{d}-s{i}" for d in range(7) for i in range(d + 1)]
    folds = folds_by_document(ids, 3)
    assert len(folds) == 3
    held_out = [j for _, test in folds for j in test]
    assert sorted(held_out) == list(range(len(ids)))  # every sentence held out exactly once
    for train, test in folds:
        assert not {document_of(ids[j]) for j in train} & {document_of(ids[j]) for j in test}
        assert sorted(train + test) == list(range(len(ids)))


def test_too_few_documents_is_a_clear_error():
    with pytest.raises(ValueError, match="5 folds need at least 5 documents; the data has 2"):
        folds_by_document(["a-s1", "a-s2", "b-s1"], 5)


@pytest.mark.slow
def test_crossval_trains_and_scores_each_fold(tiny, tmp_path):
    root, dev, encoder = tiny
    data = tmp_path / "small.jsonl"
    with open(data, "w", encoding="utf-8") as f:
        for i, (text, topics, stances) in enumerate(TINY_RECORDS):
            f.write(json.dumps({"id": f"art{i % 3}-s{i}", "text": text, "topics": topics, "stances": stances},
                               ensure_ascii=False) + "\n")
    config = tiny_config(root, dev, encoder, "lora", tmp_path / "unused")
    config.training.epochs = 3
    report = crossval(config, str(data), tmp_path / "cv", k=3, folds_only=True)

    assert [f["held_out_records"] for f in report["folds"]] == [4, 4, 4]
    assert all(len(f["held_out_documents"]) == 1 for f in report["folds"])
    assert report["model"]["topic_macro_f1"]["n"] == 3
    assert set(report["baselines"]) == {"keyword rules", "TF-IDF + logistic regression"}
    assert (tmp_path / "cv" / "fold-2" / "model" / "model.safetensors").is_file()
    md = (tmp_path / "cv" / "report.md").read_text(encoding="utf-8")
    assert "3-fold cross-validation by document" in md and "| model |" in md
