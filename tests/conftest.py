from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REAL_DEV = SHARED / "realnews" / "dev.jsonl"
REAL_ARTICLES = SHARED / "realnews" / "articles.jsonl"


def pytest_collection_modifyitems(items):
    # A test that uses the shared tiny checkpoint trains it (once per session):
    # it is slow in the marker's sense, whether or not it says so itself.
    for item in items:
        if "tiny_checkpoint" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def real_dev() -> Path:
    if not REAL_DEV.is_file():
        pytest.skip("../shared/realnews/dev.jsonl is not available")
    return REAL_DEV


@pytest.fixture
def real_articles() -> Path:
    if not REAL_ARTICLES.is_file():
        pytest.skip("../shared/realnews/articles.jsonl is not available")
    return REAL_ARTICLES


def make_tiny_bert(folder: Path, texts: list[str], seed: int = 0) -> Path:
    """A randomly initialised BERT with its own WordPiece vocabulary, built
    locally (no downloads). Like ParsBERT-zwnj, its vocabulary has [ZWNJ]."""
    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    # The vocabulary is built here rather than trained: the tokenizers library's
    # WordPiece trainer breaks frequency ties in a different order in each
    # process, which changed the token ids, hence the random embeddings, hence
    # whether a test model learned its set.
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[ZWNJ]"]
    splitter = BertWordPieceTokenizer(lowercase=False, strip_accents=False)._tokenizer
    words = sorted({w for t in texts
                    for w, _ in splitter.pre_tokenizer.pre_tokenize_str(splitter.normalizer.normalize_str(t))})
    chars = sorted({c for w in words for c in w})
    tokens = dict.fromkeys(specials + words + chars + ["##" + c for c in chars])  # ordered, no repeats
    vocab = {tok: i for i, tok in enumerate(tokens)}
    wp = BertWordPieceTokenizer(vocab, lowercase=False, strip_accents=False)
    tok = PreTrainedTokenizerFast(tokenizer_object=wp._tokenizer, unk_token="[UNK]", pad_token="[PAD]",
                                  cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    tok.save_pretrained(str(folder))
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config, add_pooling_layer=False).save_pretrained(str(folder))
    return folder


# A small, clearly separable labelled set that a tiny model can fit.
TINY_RECORDS = [
    ("آمریکا به سوریه حمله کرد و ارتش سوریه پاسخ داد.", ["syria"], {"usa": "neutral", "syria": "neutral"}),
    ("ایران از دولت سوریه حمایت کامل کرد.", ["syria"], {"iran": "neutral", "syria": "favor"}),
    ("ایران تحریم‌های ظالمانه آمریکا را محکوم کرد.", ["sanctions"], {"iran": "neutral", "usa": "against"}),
    ("روسیه تحریم‌های اروپا را غیرقانونی خواند.", ["sanctions"], {"russia": "neutral", "europe": "against"}),
    ("ترکیه واکسن کرونا به ایران فرستاد.", ["covid"], {"turkey": "neutral", "iran": "neutral"}),
    ("شیوع کرونا در ترکیه کاهش یافت.", ["covid"], {"turkey": "neutral"}),
    ("ارمنستان و آذربایجان بر سر قره‌باغ جنگیدند.", ["karabakh"], {"armenia": "against", "azerbaijan": "against"}),
    ("آتش‌بس قره‌باغ با میانجی‌گری روسیه برقرار شد.", ["karabakh"], {"russia": "favor"}),
    ("ایران دوست و برادر ترکیه است.", [], {"iran": "favor", "turkey": "favor"}),
    ("اسرائیل رژیمی متجاوز و جنایتکار است.", [], {"israel": "against"}),
    ("عربستان و ایران روابط خود را از سر گرفتند.", [], {"saudi_arabia": "favor", "iran": "favor"}),
    ("هوای امروز آفتابی و گرم است.", [], {}),
]


def write_records(path: Path, records) -> Path:
    import json

    with open(path, "w", encoding="utf-8") as f:
        for i, (text, topics, stances) in enumerate(records):
            f.write(json.dumps({"id": f"t-{i}", "text": text, "topics": topics, "stances": stances},
                               ensure_ascii=False) + "\n")
    return path


def tiny_config(root: Path, data: Path, encoder: Path, finetune: str, out: Path):
    from persian_stance.train.config import load_config

    # LoRA adapts a random encoder only through low-rank updates: at the full
    # fine-tuning rate it left the topic loss high for some encoder seeds.
    lr = 0.01 if finetune == "lora" else 0.003
    return load_config(None, [
        f"data.train=['{data}']", f"data.dev=['{data}']", f"encoder.name='{encoder}'",
        f"encoder.finetune='{finetune}'", "encoder.max_length=64", "training.epochs=30",
        "training.batch_size=4", f"training.learning_rate={lr}", f"training.head_learning_rate={lr}",
        "training.early_stopping_patience=30", "training.warmup_ratio=0.0", "training.logging_steps=3",
        "heads.dropout=0.0", "heads.stance_hidden=32",
        f"output.dir='{out}'", f"output.work_dir='{root / ('work-' + out.name)}'",
    ])


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    data = write_records(root / "train.jsonl", TINY_RECORDS)
    encoder = make_tiny_bert(root / "encoder", [r[0] for r in TINY_RECORDS] * 3)
    return root, data, encoder


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny) -> Path:
    """A LoRA checkpoint of the tiny encoder, trained once per test session."""
    from persian_stance.train.trainer import train

    root, data, encoder = tiny
    return train(tiny_config(root, data, encoder, "lora", root / "ckpt-shared"), quiet=True)


def sigterm_once_writing(proc, out: Path, *, wait: float, settle: float = 0.0) -> tuple[bytes, float]:
    """Wait (up to ``wait`` s) until the label command ``proc`` has written to
    ``out``, then ``settle`` s more, send SIGTERM and wait for it to end.
    Returns its standard error and the seconds it took to stop after the signal."""
    import signal
    import time

    try:
        deadline = time.time() + wait
        while time.time() < deadline and (not out.exists() or out.stat().st_size == 0):
            time.sleep(0.1)
        time.sleep(settle)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        return err, time.monotonic() - sent
    finally:
        proc.kill()
