"""Target-marked input: one extra encoder pass per mentioned actor, with that
actor's mentions (and only those) wrapped in markers."""
import json

import numpy as np
import pytest

from persian_stance.infer.features import ACTOR_INDEX, TARGET_MARKER, collate, mark_target
from persian_stance.infer.prepare import Preparer

from conftest import TINY_RECORDS as RECORDS
from conftest import tiny_config


def test_mark_target_wraps_each_span_and_reports_where_it_went():
    text = "ایران و آمریکا؛ ایران"
    spans = [(0, 5), (16, 21)]
    marked, new = mark_target(text, spans)
    assert marked == f"{TARGET_MARKER} ایران {TARGET_MARKER} و آمریکا؛ {TARGET_MARKER} ایران {TARGET_MARKER}"
    assert [marked[s:e] for s, e in new] == [f"{TARGET_MARKER} ایران {TARGET_MARKER}"] * 2
    # overlapping spans are marked once
    assert mark_target("abc def", [(0, 3), (1, 3)])[0] == f"{TARGET_MARKER} abc {TARGET_MARKER} def"


def test_each_mentioned_actor_gets_its_own_marked_copy(tiny):
    from transformers import AutoTokenizer

    _, _, encoder = tiny
    tok = AutoTokenizer.from_pretrained(str(encoder))
    plain = Preparer(tokenizer=tok, max_length=64)
    marked = Preparer(tokenizer=tok, max_length=64, marked=True)
    text = "ایران از سیاست آمریکا انتقاد کرد"
    p, m = plain.prepare(text), marked.prepare(text)
    assert p.features.targets == ()
    assert m.features.input_ids == p.features.input_ids  # the topic pass is unchanged
    slots = sorted(t.slot for t in m.features.targets)
    assert slots == sorted(ACTOR_INDEX[a] for a in ("iran", "usa"))
    marker_id = tok(TARGET_MARKER, add_special_tokens=False)["input_ids"]
    for t in m.features.targets:
        assert len(t.input_ids) > len(p.features.input_ids)  # the markers were added
        picked = [t.input_ids[i] for i in t.mention_tokens]
        assert picked[0] in marker_id and picked[-1] in marker_id
        assert m.features.reads_mention(t.slot)


def test_marked_copies_replace_only_their_slots():
    import torch

    from persian_stance.infer.model import TopicStanceModel

    class Encoder(torch.nn.Module):  # hidden state = embedding of the token id
        def __init__(self):
            super().__init__()
            self.config = type("C", (), {"hidden_size": 8})()
            self.emb = torch.nn.Embedding(50, 8)

        def forward(self, input_ids, attention_mask):
            return type("O", (), {"last_hidden_state": self.emb(input_ids)})()

    torch.manual_seed(0)
    model = TopicStanceModel(Encoder(), dropout=0.0, stance_hidden=8).eval()
    rows = [{"input_ids": [1, 2, 3, 4], "mention_tokens": [[1]] + [[] for _ in range(10)]},
            {"input_ids": [5, 6, 7], "mention_tokens": [[]] * 5 + [[2]] + [[] for _ in range(5)]}]
    plain = model(**collate(rows, 0))["stance_logits"]
    rows[1] = {**rows[1], "targets": [{"slot": 5, "input_ids": [5, 9, 6, 7, 9], "mention_tokens": [1, 2, 3, 4]}]}
    batch = collate(rows, 0)
    assert batch["target_slot"].tolist() == [1 * 11 + 5]
    marked = model(**batch)["stance_logits"]
    assert torch.allclose(marked[0], plain[0])  # sentence 0 has no marked copy
    assert not torch.allclose(marked[1, 5], plain[1, 5])  # slot 5 of sentence 1 reads its copy
    assert torch.allclose(marked[1, :5], plain[1, :5])


@pytest.mark.slow
def test_a_marked_model_trains_saves_and_predicts(tiny, tmp_path):
    from persian_stance.infer.checkpoint import read_config
    from persian_stance.infer.predictor import Predictor
    from persian_stance.train.trainer import train

    root, data, encoder = tiny
    config = tiny_config(root, data, encoder, "lora", tmp_path / "ckpt")
    config.heads.stance_input = "marked"
    config.output.work_dir = str(tmp_path / "work")
    out = train(config, quiet=True)
    assert read_config(out).stance_input == "marked"
    assert json.loads((out / "config.json").read_text())["heads"]["stance_input"] == "marked"
    predictor = Predictor.load(out)
    assert predictor.preparer.marked
    results = predictor.predict([r[0] for r in RECORDS])
    pairs = [(a.actor, a.stance) for r in results for a in r.actors]
    gold = [(a, s) for g in RECORDS for a, s in g[2].items()]
    assert sum(p in gold for p in pairs) / len(gold) >= 0.85, pairs
    _, stances = predictor.predict_proba([r[0] for r in RECORDS])
    assert np.isfinite(stances[~np.isnan(stances)]).all()
