"""Every aggregation builds its rows through its table's one constructor (`Table.row`), so a misspelt
column fails the job instead of becoming a silent null in Parquet."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from anonflow.contract.tables import DEAD_LETTER, DEMOGRAPHICS, DWELL, FLOWS, FOOTFALL, HEATMAP, Row, Table
from anonflow.dataflow.aggregate.demographics import demographics_rows
from anonflow.dataflow.aggregate.dwell import dwell_rows
from anonflow.dataflow.aggregate.flows import flows_rows
from anonflow.dataflow.aggregate.footfall import footfall_rows
from anonflow.dataflow.aggregate.heatmap import heatmap_rows
from anonflow.dataflow.deadletter import DeadLetter
from anonflow.dataflow.sinks.parquet import dead_letter_row, write_file
from tests.dataflow.builders import obs, store_day, walk

AGGREGATIONS = [
    (FOOTFALL, footfall_rows),
    (DWELL, dwell_rows),
    (DEMOGRAPHICS, demographics_rows),
    (FLOWS, flows_rows),
    (HEATMAP, heatmap_rows),
]


def _day() -> Any:
    door = [*walk("cam0", "t1", 0, 4, 0.1, 0.5, zone="a"), obs("cam0", "t1", 5, crossing=("door", "in"))]
    return store_day(
        [[door, walk("cam1", "t2", 10, 14, 0.2, 0.8, zone="b")], [walk("cam0", "t3", 0, 3, 0.5, 0.6)]]
    )


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Row]]:
    made: list[tuple[str, Row]] = []
    constructor = Table.row

    def row(self: Table, values: Row) -> Row:
        made.append((self.name, values))
        return constructor(self, values)

    monkeypatch.setattr(Table, "row", row)
    return made


@pytest.mark.parametrize(("table", "rows_of"), AGGREGATIONS, ids=lambda v: getattr(v, "name", ""))
def test_every_row_comes_from_the_constructor(
    monkeypatch: pytest.MonkeyPatch, table: Table, rows_of: Callable[[Any], list[Row]]
) -> None:
    made = _spy(monkeypatch)
    rows = rows_of(_day())
    assert rows
    assert [id(r) for r in rows] == [id(r) for _, r in made]
    assert {name for name, _ in made} == {table.name}


def test_dead_letter_rows_come_from_the_constructor(monkeypatch: pytest.MonkeyPatch) -> None:
    made = _spy(monkeypatch)
    _, row = dead_letter_row(DeadLetter.of("f:1", "not JSON", "{", 0))
    assert made == [(DEAD_LETTER.name, row)]


def test_a_naive_row_with_a_misspelt_column_is_refused_at_the_writer(tmp_path: Any) -> None:
    # Positive control: a row built without the constructor still cannot reach Parquet misspelt.
    naive = {"source": "f:1", "reasn": "not JSON", "raw": "{", "received_at": 0}
    with pytest.raises(ValueError, match="dead_letter row: unknown column 'reasn'; missing column 'reason'"):
        write_file(str(tmp_path / "part.parquet"), DEAD_LETTER, [naive])
    assert not (tmp_path / "part.parquet").exists()
