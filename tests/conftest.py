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
