import subprocess
import sys


def test_runtime_does_not_import_the_training_stack():
    code = (
        "import sys, persian_stance.infer as m\n"
        "from persian_stance.infer import normalize, segment, actors, sentences\n"
        "heavy = [n for n in ('sklearn', 'datasets', 'persian_stance.train', 'hazm', 'gensim') if n in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
