"""One preparation step: training and serving give the model the same input,
and mention spans land on the right tokens."""
import pytest

from persian_stance.infer.encoders import ZWNJ, ZWNJ_MARKER
from persian_stance.infer.features import ACTOR_INDEX, encode_sentence
from persian_stance.infer.labels import ACTORS
from persian_stance.infer.prepare import Preparer

from conftest import TINY_RECORDS, make_tiny_bert, write_records

# A line break inside the sentence (wrapping «مي توانند»), Arabic ي and ك, and
# missing half-spaces: each is rewritten before the model reads it.
RAW = "تحريمهاي آمريكا عليه ايران مي\nتوانند ادامه يابد."
NORMALIZED = f"تحریم{ZWNJ}های آمریکا علیه ایران می{ZWNJ}توانند ادامه یابد."


def _session(tmp_path, encoder: str):
    from persian_stance.train.config import load_config
    from persian_stance.train.trainer import build

    data = tmp_path / "data.jsonl"
    records = [(RAW, ["sanctions"], {"usa": "against", "iran": "neutral"})] + TINY_RECORDS
    write_records(data, records)
    config = load_config(None, [f"data.train=['{data}']", f"data.dev=['{data}']", f"encoder.name='{encoder}'",
                                "encoder.finetune='full'", f"output.dir='{tmp_path / 'out'}'",
                                f"output.work_dir='{tmp_path / 'work'}'"])
    return build(config, quiet=True)


def _served_features(predictor, call):
    """What the model receives when the predictor serves ``call``: per sentence,
    token ids and, per actor slot, the positions of its mention tokens."""
    seen = []

    def hook(module, args, kwargs):
        ids, attention, mentions = kwargs["input_ids"], kwargs["attention_mask"], kwargs["mention_mask"]
        for i in range(ids.shape[0]):
            n = int(attention[i].sum())
            seen.append((ids[i, :n].tolist(), [mentions[i, a, :n].nonzero().flatten().tolist()
                                               for a in range(len(ACTORS))]))

    handle = predictor.model.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        call()
    finally:
        handle.remove()
    return seen


@pytest.mark.parametrize("encoder", ["tiny", pytest.param("e5-small", marks=pytest.mark.slow)])
def test_training_and_serving_give_the_model_identical_input(tmp_path, encoder):
    from persian_stance.infer.predictor import Predictor

    name = str(make_tiny_bert(tmp_path / "enc", [NORMALIZED] + [r[0] for r in TINY_RECORDS])) \
        if encoder == "tiny" else encoder
    session = _session(tmp_path, name)
    row = session.trainer.train_dataset[0]  # what training feeds for RAW
    trained = (row["input_ids"], row["mention_tokens"])
    assert session.preparer.prepare(RAW).text == NORMALIZED
    assert trained[1][ACTOR_INDEX["usa"]] and trained[1][ACTOR_INDEX["iran"]]

    # Serving, from the checkpoint config training would save.
    predictor = Predictor(session.model, session.preparer.tokenizer, session.checkpoint_config)
    assert _served_features(predictor, lambda: predictor.predict([RAW])) == [trained]
    # An article's sentence comes through the segmenter's normalisation; the
    # article splits at the line break, so the sentence without one is compared.
    one_line = RAW.replace("\n", " ")
    assert session.preparer.prepare(one_line).features == session.preparer.prepare(RAW).features
    article = "ترکیه واکسن کرونا به ایران فرستاد. " + one_line
    served = _served_features(predictor, lambda: predictor.predict_article(article))
    assert trained in served


def test_line_break_reads_as_a_space_and_offsets_stay_on_the_original():
    p = Preparer().text(RAW)
    assert p.text == NORMALIZED
    assert [(m.actor, RAW[slice(*p.original_span(m))]) for m in p.mentions] == [("usa", "آمريكا"), ("iran", "ايران")]


# -- span → token alignment ------------------------------------------------

TEXT = f"نیروهای{ZWNJ}ارتش در روز{ZWNJ}های اخیر با ارتش{ZWNJ}سوریه و نیروهای آمریکا جنگیدند."
# The actor spans are given by hand, so only the index arithmetic is tested.
SYRIA = ("syria", TEXT.index("ارتش" + ZWNJ + "سوریه"), TEXT.index("ارتش" + ZWNJ + "سوریه") + len("ارتش" + ZWNJ + "سوریه"))
USA = ("usa", TEXT.index("آمریکا"), TEXT.index("آمریکا") + len("آمریکا"))


@pytest.fixture(scope="module")
def tiny_tokenizer(tmp_path_factory):
    from transformers import AutoTokenizer

    words = [TEXT.replace(ZWNJ, " "), "query :"]
    tok = AutoTokenizer.from_pretrained(str(make_tiny_bert(tmp_path_factory.mktemp("tok"), words)))
    # As in ParsBERT-zwnj, the marker is one token, never split at its brackets.
    tok.add_special_tokens({"additional_special_tokens": [ZWNJ_MARKER]})
    return tok


def _tokens(tokenizer, enc, actor):
    return tokenizer.convert_ids_to_tokens([enc.input_ids[t] for t in enc.mention_tokens[ACTOR_INDEX[actor]]])


@pytest.mark.parametrize("prefix", ["", "query: "])
def test_mention_tokens_with_zwnj_marker_and_prefix(tiny_tokenizer, prefix):
    enc = encode_sentence(tiny_tokenizer, TEXT, [SYRIA, USA], prefix=prefix, zwnj="marker", max_length=64)
    # Two ZWNJs before the mention each become « [ZWNJ] » (7 more characters):
    # the mention's tokens are its own words and the marker between them.
    assert _tokens(tiny_tokenizer, enc, "syria") == ["ارتش", ZWNJ_MARKER, "سوریه"]
    assert _tokens(tiny_tokenizer, enc, "usa") == ["آمریکا"]
    assert all(not slot for a, slot in zip(ACTORS, enc.mention_tokens) if a not in ("syria", "usa"))


def test_mention_tokens_with_zwnj_as_space(tiny_tokenizer):
    enc = encode_sentence(tiny_tokenizer, TEXT, [SYRIA, USA], prefix="query: ", zwnj="space", max_length=64)
    assert _tokens(tiny_tokenizer, enc, "syria") == ["ارتش", "سوریه"]
    assert _tokens(tiny_tokenizer, enc, "usa") == ["آمریکا"]


def test_truncated_mention_has_no_tokens(tiny_tokenizer):
    enc = encode_sentence(tiny_tokenizer, TEXT, [SYRIA, USA], prefix="query: ", zwnj="marker", max_length=8)
    assert enc.truncated and len(enc.input_ids) == 8
    assert enc.mention_tokens[ACTOR_INDEX["usa"]] == []


@pytest.mark.slow
def test_mention_tokens_on_the_e5_tokenizer():
    """The real e5 tokenizer (SentencePiece, ``query: `` prefix, ZWNJ as space):
    the mention's tokens spell exactly the mention, nothing of its neighbours."""
    from persian_stance.infer.encoders import load_tokenizer, spec_for

    tok = load_tokenizer(spec_for("e5-small"))
    enc = encode_sentence(tok, TEXT, [SYRIA, USA], prefix="query: ", zwnj="space", max_length=64)
    for actor, s, e in (SYRIA, USA):
        ids = [enc.input_ids[t] for t in enc.mention_tokens[ACTOR_INDEX[actor]]]
        assert tok.decode(ids).strip() == TEXT[s:e].replace(ZWNJ, " ")
