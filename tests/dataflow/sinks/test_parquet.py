"""Parquet partitions: a later pane replaces an earlier one, a batch write replaces everything, a retried
write overwrites its own file; dead letters are appended; nullable columns are enforced."""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline

from anonflow.contract.tables import DEAD_LETTER, FLOWS
from anonflow.dataflow.aggregate.base import TableRows
from anonflow.dataflow.deadletter import DeadLetter
from anonflow.dataflow.sinks.parquet import WriteDeadLetters, replace_partition

ROW = {"granularity": "1d", "window_start": 0, "window_end": 86_400_000, "from_zone": "a", "to_zone": "b"}


def batch(pane: int, visitors: int) -> TableRows:
    return TableRows("flows", "s1", "1970-01-01", pane, ({**ROW, "visitors": visitors, "suppressed": False},))


def files(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "flows" / "store_id=s1" / "date=1970-01-01").iterdir())


@pytest.mark.parametrize(
    ("writes", "replace_all", "expected_files", "expected_visitors"),
    [
        ([0, 1, 2], False, ["part-00002.parquet"], 2),
        (
            [2, 1],
            False,
            ["part-00001.parquet", "part-00002.parquet"],
            None,
        ),  # a slow older pane keeps the newer
        ([0, 0], True, ["part-00000.parquet"], 0),  # a retried or re-run write overwrites its own file
    ],
)
def test_panes_replace_the_partition(
    tmp_path: Path,
    writes: list[int],
    replace_all: bool,
    expected_files: list[str],
    expected_visitors: int | None,
) -> None:
    for pane in writes:
        replace_partition(str(tmp_path), FLOWS, batch(pane, pane), replace_all=replace_all)
    assert files(tmp_path) == expected_files
    if expected_visitors is not None:
        (name,) = expected_files
        table = pq.read_table(tmp_path / "flows" / "store_id=s1" / "date=1970-01-01" / name)
        assert table.column("visitors").to_pylist() == [expected_visitors]


def test_a_batch_write_removes_stale_files(tmp_path: Path) -> None:
    replace_partition(str(tmp_path), FLOWS, batch(3, 3), replace_all=False)
    (tmp_path / "flows" / "store_id=s1" / "date=1970-01-01" / "part-old.parquet").write_bytes(b"")
    replace_partition(str(tmp_path), FLOWS, batch(0, 9), replace_all=True)
    assert files(tmp_path) == ["part-00000.parquet"]


def test_missing_required_value_is_a_wiring_error(tmp_path: Path) -> None:
    broken = TableRows(
        "flows", "s1", "1970-01-01", 0, ({**ROW, "from_zone": None, "visitors": 1, "suppressed": False},)
    )
    with pytest.raises(ValueError, match="column from_zone is not nullable"):
        replace_partition(str(tmp_path), FLOWS, broken, replace_all=True)


def test_dead_letters_are_appended_by_store_and_day(tmp_path: Path) -> None:
    day_ms = 86_400_000
    dead = [
        DeadLetter.of("f:1", "not JSON", "x", 5 * day_ms + 10, None),
        DeadLetter.of("f:2", "bad", "y", 5 * day_ms + 20, "s1"),
        DeadLetter.of("f:3", "bad", "z", 5 * day_ms + 30, "s1"),
    ]
    with BeamPipeline() as p:
        _ = p | beam.Create(dead) | WriteDeadLetters(str(tmp_path))
    root = tmp_path / "dead_letter"
    written = {
        str(path.parent.relative_to(root)): pq.read_table(path).to_pylist()
        for path in root.rglob("*.parquet")
    }
    assert sorted(written) == ["store_id=s1/date=1970-01-06", "store_id=unknown/date=1970-01-06"]
    assert [r["source"] for r in written["store_id=s1/date=1970-01-06"]] == ["f:2", "f:3"]
    assert pq.read_schema(next(root.rglob("*.parquet"))).names == list(DEAD_LETTER.column_names)
