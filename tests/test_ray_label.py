"""``persian-stance label-ray``: Ray Data on a local 2-CPU Ray gives the records
of the plain label command, record for record."""
import json
import os
import shutil

import pytest

ray = pytest.importorskip("ray")

from persian_stance.infer.cli import main as label_main  # noqa: E402
from persian_stance.infer.ray_label import label_ray, read_shards  # noqa: E402

from conftest import REAL_DEV, ROOT  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    # A busy shared machine can cross Ray's memory-monitor threshold because of
    # other processes; its kills would restart the actors and only slow the test.
    os.environ.setdefault("RAY_memory_monitor_refresh_ms", "0")
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=100 * 1024 ** 2, log_to_driver=False)
    yield
    ray.shutdown()


def _shards(folder):
    """The seed articles and the real dev sentences (when ../shared is here) as
    JSON Lines shards, with bad records: a malformed line, a record without
    text, one that is not Persian, one without an id (its id is file:line)."""
    folder.mkdir()
    with open(folder / "shard-0.jsonl", "w", encoding="utf-8") as f:
        for p in sorted((ROOT / "seeds").glob("*.txt")):
            f.write(json.dumps({"id": p.name, "text": p.read_text(encoding="utf-8"), "source": "seed"},
                               ensure_ascii=False) + "\n")
        f.write("{not json\n")
        f.write(json.dumps({"id": "no-text", "body": "x"}) + "\n")
        f.write(json.dumps({"id": 7, "text": "Nothing here is written in Persian at all."}) + "\n")
        f.write(json.dumps({"text": "ایران و ترکیه همکاری کردند."}, ensure_ascii=False) + "\n")
    if REAL_DEV.is_file():
        lines = REAL_DEV.read_text(encoding="utf-8").splitlines()
        half = len(lines) // 2
        (folder / "shard-1.jsonl").write_text("\n".join(lines[:half]) + "\n", encoding="utf-8")
        (folder / "shard-2.jsonl").write_text("\n".join(lines[half:]) + "\n", encoding="utf-8")
    return sorted(folder.glob("*.jsonl"))


def _key(r):
    return json.dumps(r["id"]), r.get("sentence_index", -1)


def _assert_same(got, expected):
    got, expected = sorted(got, key=_key), sorted(expected, key=_key)
    assert [_key(r) for r in got] == [_key(r) for r in expected]
    for g, e in zip(got, expected):
        if "error" in e:
            assert g == e
            continue
        assert (g["text"], g["start"], g["end"], g["topic_labels"], g["flags"], g["file"], g.get("source")) == \
            (e["text"], e["start"], e["end"], e["topic_labels"], e["flags"], e["file"], e.get("source"))
        assert all(abs(g["topics"][t] - e["topics"][t]) <= 1e-4 for t in e["topics"])
        assert [(a["actor"], a["stance"], a["spans"]) for a in g["actors"]] == \
            [(a["actor"], a["stance"], a["spans"]) for a in e["actors"]]
        for ga, ea in zip(g["actors"], e["actors"]):
            assert (ga["scores"] is None) == (ea["scores"] is None)
            if ea["scores"]:
                assert all(abs(ga["scores"][s] - ea["scores"][s]) <= 1e-4 for s in ea["scores"])


def test_ray_labels_shards_as_the_label_command_does(tiny_checkpoint, tmp_path, local_ray):
    shards = _shards(tmp_path / "in")
    cli_out = tmp_path / "cli.jsonl"
    assert label_main([*map(str, shards), "--model", str(tiny_checkpoint), "--keep-fields", "source",
                       "--workers", "1", "--out", str(cli_out), "--no-progress"]) == 1
    expected = [json.loads(line) for line in cli_out.read_text(encoding="utf-8").splitlines()]
    counts = label_ray(str(tmp_path / "in"), tmp_path / "out", model=str(tiny_checkpoint), actors=2,
                       keep_fields=("source",))
    got = read_shards(tmp_path / "out")
    print(f"label-ray: {counts}; label: {len(expected)} records; "
          f"{sum('error' not in r for r in got)} sentences from {len(shards)} shards")
    assert counts["records"] == len(expected) and counts["errors"] == 3
    assert sum("error" not in r for r in expected) >= (250 if REAL_DEV.is_file() else 80)
    _assert_same(got, expected)

    # the same records from Parquet shards (ids as strings: a Parquet column has one type)
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "pq").mkdir()
    rows = [r for r in (json.loads(line) for line in (tmp_path / "in" / "shard-0.jsonl").read_text(
        encoding="utf-8").splitlines() if line.startswith('{"id": "0')) if "text" in r]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "pq" / "part-0.parquet")
    label_ray(str(tmp_path / "pq"), tmp_path / "out-pq", input_format="parquet", model=str(tiny_checkpoint),
              actors=2, keep_fields=("source",))
    from_parquet = read_shards(tmp_path / "out-pq")
    seeds = [r for r in expected if r["id"] in {row["id"] for row in rows}]
    parquet_file = str(tmp_path / "pq" / "part-0.parquet")
    assert {r["file"] for r in from_parquet} == {parquet_file}
    _assert_same(from_parquet, [{**r, "file": parquet_file} for r in seeds])


def test_ray_refuses_an_output_folder_that_is_not_empty(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.jsonl").write_text("{}\n", encoding="utf-8")
    from persian_stance.infer.errors import UserError

    with pytest.raises(UserError, match="is not empty"):
        label_ray(str(tmp_path), tmp_path / "out")
