"""Reading the batch labeller's inputs (no model needed)."""
import json

import pytest

from persian_stance.infer.inputs import InputOptions, iter_items

PERSIAN = "ایران و ترکیه همکاری کردند."


def _items(paths, **opts):
    return list(iter_items([str(p) for p in paths], InputOptions(**opts)))


def test_json_error_reads_as_one_sentence(tmp_path):
    """json's own message ends in "starting at"; ours must not say "at at"."""
    from persian_stance.infer.outputs import read_records
    from persian_stance.train.records import check_files

    src = tmp_path / "cut.jsonl"
    src.write_text('{"id": "x", "text": "ایران', encoding="utf-8")  # cut off: no newline
    [item] = _items([src])
    assert item.error == "malformed JSON: Unterminated string starting at column 21"
    with pytest.raises(ValueError) as e:
        list(read_records(src))
    assert str(e.value) == f"{src}:1: not valid JSON (Unterminated string starting at column 21)"
    _, issues = check_files([src])
    assert [str(i) for i in issues] == [f"{src}:1: error: not valid JSON: Unterminated string starting at column 21"]
