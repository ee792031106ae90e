import subprocess
import sys

HEAVY = ("sklearn", "datasets", "persian_stance.train", "hazm", "gensim", "peft", "matplotlib")


def _imported(code: str, names=HEAVY) -> list[str]:
    """Which of ``names`` a fresh interpreter has imported after running ``code``."""
    probe = code + f"\nimport sys\nprint(','.join(n for n in {tuple(names)!r} if n in sys.modules))\n"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return [n for n in out.stdout.strip().split(",") if n]


def test_text_tools_import_light():
    text_tools = "from persian_stance.infer import normalize, segment, actors, sentences"
    assert _imported(text_tools) == []
    assert _imported(text_tools, ("torch", "transformers")) == []


def test_probe_sees_what_is_imported():
    assert _imported("import persian_stance.infer.features", ("torch",)) == ["torch"]


def test_predictor_does_not_import_the_training_stack():
    assert _imported("from persian_stance.infer import Predictor; import persian_stance.infer.cli") == []
