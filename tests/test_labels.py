"""The label inventory lives in infer/labels.py and the gazetteer; other places read it."""
import subprocess
import sys

import pytest

from persian_stance.infer.actors import ActorDetector
from persian_stance.infer.labels import ACTORS, STANCES, TOPICS
from persian_stance.infer.prepare import Preparer
from persian_stance.train.name_swap import swaps

from conftest import ROOT


def test_check_batch_reads_the_one_label_list(tmp_path):
    """The writers' standard-library script takes its labels from infer/labels.py,
    in a fresh interpreter that has not imported the package."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import check_batch as c; "
            "print(c.TOPICS, c.ACTORS, c.STANCES, 'persian_stance' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "data" / "authored")], capture_output=True,
                         text=True, check=True, cwd=tmp_path).stdout.strip()
    assert out == f"{list(TOPICS)} {list(ACTORS)} {list(STANCES)} False"


def test_every_plain_name_is_found_as_its_actor():
    det = ActorDetector.default()
    assert set(det.plain_names) == set(ACTORS) - {"terrorist_groups"}
    for actor, name in det.plain_names.items():
        assert det.actors(f"مقام‌های {name} گفتند") == [actor], name


def test_a_plain_name_must_be_an_alias():
    with pytest.raises(ValueError, match="plain name of iran"):
        ActorDetector({"actor": {"iran": {"plain": "پارس", "names": ["ایران"]}}})


def test_name_swap_writes_the_next_absent_actor_in():
    text = "روسيه از دولت سوریه حمایت کرد."  # Arabic ي: the swap works on the prepared text
    out = swaps(text, {"russia": "favor", "syria": "favor"}, Preparer())
    # Each is replaced by the next actor after it, in ACTORS order, that has a
    # plain name and is absent: russia → turkey; syria → azerbaijan
    # (terrorist_groups, between them, has no plain name).
    assert out == [("ترکیه از دولت سوریه حمایت کرد.", "russia", "turkey", "favor"),
                   ("روسیه از دولت جمهوری آذربایجان حمایت کرد.", "syria", "azerbaijan", "favor")]
