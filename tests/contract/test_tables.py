"""Table rows: one constructor per table, driven by its column definitions, refusing unknown or missing
columns (a misspelt column would otherwise become a silent null in Parquet)."""

from __future__ import annotations

from typing import Any

import pytest

from anonflow.contract.tables import ALL_TABLES, DEAD_LETTER, FLOWS, SUPPRESSED, Column, Table

WINDOW = {"granularity": "1h", "window_start": 0, "window_end": 3_600_000}
FLOW = {**WINDOW, "from_zone": "a", "to_zone": "b", "visitors": 4}
DEAD = {"source": "f:1", "reason": "not JSON", "raw": "{", "received_at": 0}


def _without(row: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != name}


@pytest.mark.parametrize(
    ("table", "values", "error"),
    [
        (FLOWS, FLOW, None),
        (DEAD_LETTER, DEAD, None),
        (
            FLOWS,
            {**_without(FLOW, "visitors"), "vistors": 4},
            "flows row: unknown column 'vistors'; missing column 'visitors'",
        ),
        (FLOWS, _without(FLOW, "to_zone"), "flows row: missing column 'to_zone'"),
        (FLOWS, {**FLOW, "colour": "red"}, "flows row: unknown column 'colour'"),
        (FLOWS, {**FLOW, SUPPRESSED: False}, "flows row: unknown column 'suppressed'"),  # the privacy step's
        (FLOWS, {}, "flows row: missing columns 'granularity', 'window_start', 'window_end', 'from_zone', "),
        (
            DEAD_LETTER,
            {**_without(DEAD, "reason"), "reasn": "x"},
            "dead_letter row: unknown column 'reasn'; missing column 'reason'",
        ),
        (
            DEAD_LETTER,
            {**DEAD, "store_id": "s1"},
            "dead_letter row: unknown column 'store_id'",
        ),  # a partition key
    ],
)
def test_row(table: Table, values: dict[str, Any], error: str | None) -> None:
    if error is None:
        assert table.row(values) == values
        return
    with pytest.raises(ValueError, match=None) as raised:
        table.row(values)
    assert str(raised.value).startswith(error)


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({**FLOW, SUPPRESSED: False}, None),
        (FLOW, "flows row: missing column 'suppressed'"),
        ({**FLOW, SUPPRESSED: True, "vistors": None}, "flows row: unknown column 'vistors'"),
    ],
)
def test_released_rows_hold_exactly_the_columns(values: dict[str, Any], error: str | None) -> None:
    if error is None:
        assert FLOWS.check_released(values) == values
        return
    with pytest.raises(ValueError, match=None) as raised:
        FLOWS.check_released(values)
    assert str(raised.value) == error


@pytest.mark.parametrize("table", ALL_TABLES, ids=lambda t: t.name)
def test_every_table_makes_rows_of_its_own_columns(table: Table) -> None:
    measured = {c.name: None for c in table.columns if c.name != SUPPRESSED}
    assert table.row(measured) == measured


def test_a_table_refuses_a_repeated_column() -> None:
    column = Column("visitors", "int64", "Journeys.")
    with pytest.raises(ValueError, match="table t: repeated column visitors"):
        Table("t", "A table.", (column, column))
