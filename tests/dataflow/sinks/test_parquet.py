"""Parquet partitions: one day file, swapped in whole per pane (a reader never sees two panes), a later pane
replaces an earlier one and never the reverse, a batch write replaces everything; dead letters are
appended under names that never collide; nullable columns are enforced."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.io.filesystems import FileSystems
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline

from anonflow.contract.tables import DEAD_LETTER, FLOWS, UNPUBLISHED_FILE, Table
from anonflow.dataflow.aggregate.base import TableRows
from anonflow.dataflow.deadletter import DeadLetter
from anonflow.dataflow.sinks import parquet
from anonflow.dataflow.sinks.parquet import (
    DAY_FILE,
    WriteDeadLetters,
    dead_letter_file_name,
    partition_dir,
    replace_partition,
)

ROW = {"granularity": "1d", "window_start": 0, "window_end": 86_400_000, "from_zone": "a", "to_zone": "b"}


def batch(pane: int, visitors: int) -> TableRows:
    return TableRows("flows", "s1", "1970-01-01", pane, ({**ROW, "visitors": visitors, "suppressed": False},))


def files(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "flows" / "store_id=s1" / "date=1970-01-01").iterdir())


def visitors(root: Path) -> list[int]:
    table = pq.read_table(root / "flows" / "store_id=s1" / "date=1970-01-01" / DAY_FILE)
    return table.column("visitors").to_pylist()


# (pane writes in the order they finish, replace_all, the visitors (= pane) left in the day file)
@pytest.mark.parametrize(
    ("writes", "replace_all", "expected_visitors"),
    [
        ([0, 1, 2], False, 2),
        ([2, 1], False, 2),  # a slow older pane keeps the newer
        ([0, 0], True, 0),  # a retried or re-run write overwrites its own file
        ([2, 0], True, 0),  # a batch re-run replaces whatever is there
    ],
)
def test_panes_replace_the_day_file(
    tmp_path: Path, writes: list[int], replace_all: bool, expected_visitors: int
) -> None:
    for pane in writes:
        replace_partition(str(tmp_path), FLOWS, batch(pane, pane), replace_all=replace_all)
    assert files(tmp_path) == [DAY_FILE]  # no temporary file left behind
    assert visitors(tmp_path) == [expected_visitors]


def test_a_write_removes_stale_files(tmp_path: Path) -> None:
    replace_partition(str(tmp_path), FLOWS, batch(3, 3), replace_all=False)
    (tmp_path / "flows" / "store_id=s1" / "date=1970-01-01" / "part-00001.parquet").write_bytes(b"")
    replace_partition(str(tmp_path), FLOWS, batch(4, 9), replace_all=False)
    assert files(tmp_path) == [DAY_FILE]


def test_a_reader_never_sees_two_panes_of_a_day(tmp_path: Path) -> None:
    """A reader listing the partition while panes are written sees exactly one day file every time."""
    seen: list[list[str]] = []
    stop = threading.Event()

    def read() -> None:
        directory = tmp_path / "flows" / "store_id=s1" / "date=1970-01-01"
        while not stop.is_set():
            if directory.is_dir():
                listed = sorted(p.name for p in directory.glob("*.parquet"))
                seen.append(listed)
                if listed:
                    pq.read_table(directory / listed[0])  # whole, never half-written

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for pane in range(60):
            replace_partition(str(tmp_path), FLOWS, batch(pane, pane), replace_all=False)
    finally:
        stop.set()
        reader.join()
    assert seen and all(listed in ([], [DAY_FILE]) for listed in seen)


def _earlier_layout(root: str, table: Table, rows: TableRows, *, replace_all: bool) -> str:
    """The naive writer this replaced: the pane's own file first, then the older panes' files deleted."""
    directory = partition_dir(root, table, rows.store_id, rows.date)
    path = parquet.write_file(FileSystems.join(directory, f"part-{rows.pane:05d}.parquet"), table, rows.rows)
    older = [m.path for m in FileSystems.match([FileSystems.join(directory, "*.parquet")])[0].metadata_list]
    FileSystems.delete([p for p in older if p != path])
    return path


# (writer, most panes a reader can see at once)
@pytest.mark.parametrize(("writer", "most_visible"), [(replace_partition, 1), (_earlier_layout, 2)])
def test_after_every_step_of_a_write_a_reader_sees_one_pane(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer: Callable[..., object], most_visible: int
) -> None:
    """Lists the partition after every file operation of the writer (deterministic, unlike a racing
    reader); the earlier layout is the positive control: between its write and its delete two panes show."""
    directory = tmp_path / "flows" / "store_id=s1" / "date=1970-01-01"
    visible: list[int] = []

    def listing_after(operation: Callable[..., object]) -> Callable[..., object]:
        def step(*args: object, **kwargs: object) -> object:
            result = operation(*args, **kwargs)
            visible.append(len(list(directory.glob("*.parquet"))))
            return result

        return step

    monkeypatch.setattr(parquet, "write_file", listing_after(parquet.write_file))
    monkeypatch.setattr(FileSystems, "rename", listing_after(FileSystems.rename))
    monkeypatch.setattr(FileSystems, "delete", listing_after(FileSystems.delete))
    for pane in range(3):
        writer(str(tmp_path), FLOWS, batch(pane, pane), replace_all=False)
    assert max(visible) == most_visible


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


def test_dead_letter_files_never_overwrite_each_other(tmp_path: Path) -> None:
    """Two runs rejecting the same line for the same reason (the old naming's collision) keep both files."""
    for received_ms, raw in ((10, "first run"), (20, "second run")):
        with BeamPipeline() as p:
            _ = (
                p
                | beam.Create([DeadLetter.of("f:1", "not JSON", raw, received_ms, "s1")])
                | WriteDeadLetters(str(tmp_path))
            )
    rows = [
        r for path in (tmp_path / "dead_letter").rglob("*.parquet") for r in pq.read_table(path).to_pylist()
    ]
    assert sorted(r["raw"] for r in rows) == ["first run", "second run"]


# (rows a, rows b, same name?)
ROW_A = {"source": "f:1", "reason": "bad", "raw": "x", "received_at": 5}
NAME_CASES = [
    ([ROW_A], [ROW_A], True),  # a retried write overwrites its own file
    ([ROW_A], [{**ROW_A, "raw": "y"}], False),  # same source and reason, other payload
    ([ROW_A], [{**ROW_A, "received_at": 6}], False),
    ([ROW_A], [ROW_A, {**ROW_A, "source": "f:2"}], False),
]


@pytest.mark.parametrize(("a", "b", "same"), NAME_CASES)
def test_dead_letter_file_names(a: list[dict[str, object]], b: list[dict[str, object]], same: bool) -> None:
    assert (dead_letter_file_name(a) == dead_letter_file_name(b)) is same


def test_unpublished_counts_lie_beside_the_day_file(tmp_path: Path) -> None:
    counted = replace(batch(0, 5), unpublished=(("1d", 2), ("1h", 40)))
    replace_partition(str(tmp_path), FLOWS, counted, replace_all=True)
    assert files(tmp_path) == [UNPUBLISHED_FILE, DAY_FILE]
    beside = tmp_path / "flows" / "store_id=s1" / "date=1970-01-01" / UNPUBLISHED_FILE
    assert json.loads(beside.read_text()) == {"1d": 2, "1h": 40}
