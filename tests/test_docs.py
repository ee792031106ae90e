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


def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def _close(a, b, path="record") -> None:
    """Equal, except that probabilities may move in their last digits between
    machines (thread counts, CPU kernels)."""
    if isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, abs=0.01), path
    elif isinstance(a, dict):
        assert list(a) == list(b), path
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{path}[{i}]")
    else:
        assert a == b, path


def _tool():
    import importlib.util

    spec = importlib.util.spec_from_file_location("readme_example", ROOT / "tools" / "readme_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_example_block_is_a_whole_record():
    import json

    record = json.loads(_tool().readme_block(_readme()))
    from persian_stance.infer.outputs import RECORD_FIELDS

    assert set(record) <= set(RECORD_FIELDS) and {"id", "file", "actors", "flags"} <= set(record)
    assert "…" not in record["text"]  # the whole sentence, as the model wrote it


@pytest.mark.slow
def test_readme_example_record_is_what_the_shipped_model_outputs():
    import json

    tool = _tool()
    _close(json.loads(tool.readme_block(_readme())), tool.label_example())


@pytest.mark.slow
def test_readme_python_api_example_runs_as_written(monkeypatch, capsys):
    from persian_stance.infer import ACTORS, STANCES, TOPICS

    section = _readme().split("## Python API", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    exec(compile(code, "README.md (Python API)", "exec"), namespace)
    assert namespace["topic_p"].shape == (len(namespace["sentences"]), len(TOPICS))
    assert namespace["stance_p"].shape == (len(namespace["sentences"]), len(ACTORS), len(STANCES))
    assert namespace["fast"].thresholds["covid"] == 0.6
