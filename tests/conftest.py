from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REAL_DEV = SHARED / "realnews" / "dev.jsonl"
REAL_ARTICLES = SHARED / "realnews" / "articles.jsonl"


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
    wp = BertWordPieceTokenizer(lowercase=False, strip_accents=False)
    wp.train_from_iterator(texts, vocab_size=600, min_frequency=1,
                           special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[ZWNJ]"])
    tok = PreTrainedTokenizerFast(tokenizer_object=wp._tokenizer, unk_token="[UNK]", pad_token="[PAD]",
                                  cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    tok.save_pretrained(str(folder))
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config, add_pooling_layer=False).save_pretrained(str(folder))
    return folder
