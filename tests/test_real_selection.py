"""tools/select_real_pool.py round 3 and tools/build_real_labels.py: new train
sentences never come from dev or test articles, never repeat an earlier
reference, and land in their own file. Synthetic rows; no model, no pool."""
import importlib.util
import random
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str):
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "tools"))
    return module


def _rows() -> list[dict]:
    rows = []
    for art in ("tr-1", "tr-2", "dev-1", "test-1", "new-1", "new-2"):
        for k in range(8):
            rows.append({"article": art, "start": 100 * k, "end": 100 * k + 50, "text": f"{art} {k}",
                         "actors": ["iran"] if k != 7 else [], "cues": []})
    return rows


def _refs() -> list[dict]:
    return [{"article": "tr-1", "start": 0, "end": 50, "split": "train"},
            {"article": "tr-1", "start": 120, "end": 130, "split": "train"},  # inside sentence 1
            {"article": "dev-1", "start": 0, "end": 50, "split": "dev"},
            {"article": "test-1", "start": 0, "end": 50, "split": "test"}]


def test_round3_keeps_out_of_held_out_articles_and_earlier_sentences(monkeypatch):
    sel = _tool("select_real_pool")

    def fake_scores(rows, model, batch_size, only=None):
        for i in only:
            charged = rows[i]["start"] % 200 == 0
            rows[i]["model_stances"] = {"iran": "against" if charged else "neutral"}
            rows[i]["stance_uncertainty"] = rows[i]["start"] / 1000

    monkeypatch.setattr(sel, "model_uncertainty", fake_scores)
    rows = _rows()
    chosen = sel.third_round(rows, _refs(), random.Random(1), n=100, per_article=4, model="unused")
    picked = [rows[i] for i in chosen]
    assert picked
    assert not {r["article"] for r in picked} & {"dev-1", "test-1"}
    assert all(r["actors"] for r in picked)
    assert not any(r["article"] == "tr-1" and r["start"] in (0, 100) for r in picked)
    per_article = {a: sum(r["article"] == a for r in picked) for a in ("tr-1", "tr-2", "new-1", "new-2")}
    # the cap counts the earlier rounds' sentences too: tr-1 already has 2
    assert per_article == {"tr-1": 2, "tr-2": 4, "new-1": 4, "new-2": 4}
    reasons = [x for i in chosen for x in chosen[i]]
    assert all(x.startswith("round3:") for x in reasons)
    charged = [rows[i] for i in chosen if chosen[i] == ["round3:charged"]]
    assert charged and all(r["start"] % 200 == 0 for r in charged)


def test_round3_references_go_to_their_own_train_file():
    build = _tool("build_real_labels")
    assert build.output_file({"id": "rn-1", "split": "train", "reasons": ["round3:actor"]}) == "train-round3"
    assert build.output_file({"id": "rn-2", "split": "dev", "reasons": ["cue:syria"]}) == "dev"
    with pytest.raises(SystemExit, match="rn-3 is a round-3 sentence outside train"):
        build.output_file({"id": "rn-3", "split": "test", "reasons": ["round3:charged"]})
