"""The documents a user reads: the guideline shipped with the code, and the
README's examples, which must still be what the code does."""
import re

import pytest

from conftest import ROOT, SHARED


def test_the_shipped_guideline_is_the_shared_one():
    """ANNOTATION.md in the repository is the guideline the model follows: a copy
    of ../shared/ANNOTATION.md, kept identical (and of the version the labels say)."""
    shared = SHARED / "ANNOTATION.md"
    if not shared.is_file():
        pytest.skip("../shared/ANNOTATION.md is not available")
    assert (ROOT / "ANNOTATION.md").read_bytes() == shared.read_bytes(), \
        "ANNOTATION.md differs from ../shared/ANNOTATION.md: copy it again"


def test_the_guideline_version_is_the_one_the_code_labels_with():
    from persian_stance.infer.labels import GUIDELINE_VERSION

    first = (ROOT / "ANNOTATION.md").read_text(encoding="utf-8").splitlines()[0]
    assert re.search(r"\(v([\d.]+)\)$", first).group(1) == GUIDELINE_VERSION
