"""What every table step shares: the rows batch they emit, the windows of a store-day, zone presence."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final

import apache_beam as beam
from apache_beam.metrics import Metrics

from anonflow.contract.tables import Row, Table
from anonflow.dataflow.journeys import StoreDay
from anonflow.dataflow.support import Contributor, contributors
from anonflow.dataflow.windows import Granularity, LocalWindow, ZoneWindows, overlapping

ALL_GRANULARITIES: Final = (Granularity.FIVE_MINUTES, Granularity.HOUR, Granularity.DAY)

CONTRIBUTORS: Final = "_contributors"
"""Key of a row's private field: the indices (into the day's journeys) of the journeys behind the row.
Disclosure control reads it and removes it; it never reaches a table."""


def behind(row: Row, journeys: Iterable[int]) -> Row:
    """`row` (from `Table.row`) with the journeys behind it in its private `CONTRIBUTORS` field."""
    row[CONTRIBUTORS] = frozenset(journeys)
    return row


Cell = tuple[str, LocalWindow]
"""A zone (or camera) and a window."""


@dataclass(frozen=True, slots=True)
class TableRows:
    """Every row of one table for one store-day, as of one pane of the day's window.

    Rows are made by `Table.row` (every column but `suppressed`) plus the private `CONTRIBUTORS` set,
    timestamps as UTC milliseconds, with true counts (privacy is applied by `ProtectCells`). The
    partition is (store_id, date); a later pane's rows replace an earlier pane's. contributors: one per
    journey of the day, indexed by the rows' `CONTRIBUTORS` (empty once the rows are released). timing:
    the pane's ("early", "on_time", "late", "unknown"), which the differentially private release reads.
    unpublished: set by the release, (granularity, cells of the public grid not published) pairs.
    """

    table: str
    store_id: str
    date: str
    pane: int
    rows: tuple[Row, ...]
    contributors: tuple[Contributor, ...] = ()
    timing: str = "unknown"
    unpublished: tuple[tuple[str, int], ...] = ()


def window_columns(granularity: Granularity, window: LocalWindow) -> Row:
    return {"granularity": granularity.value, "window_start": window.start_ms, "window_end": window.end_ms}


def day_windows(day: StoreDay, granularity: Granularity) -> ZoneWindows:
    """The store's windows of one granularity (the day window is the store-day itself)."""
    return ZoneWindows(day.time_zone, granularity)


def presence(day: StoreDay, windows: ZoneWindows) -> dict[Cell, set[int]]:
    """(zone, window) -> indices of the journeys with a visit to the zone overlapping the window."""
    present: dict[Cell, set[int]] = defaultdict(set)
    for index, journey in enumerate(day.journeys):
        for visit in journey.visits:
            for window in overlapping(windows, visit.start_ms, visit.end_ms):
                present[(visit.zone_id, window)].add(index)
    return present


class _Rows(beam.DoFn):
    def __init__(self, table: Table, rows: Callable[[StoreDay], list[Row]]) -> None:
        self._table = table
        self._rows = rows
        self.counted = Metrics.counter("anonflow", f"cells_{table.name}")

    def process(self, day: StoreDay) -> Iterator[TableRows]:
        rows = self._rows(day)
        self.counted.inc(len(rows))
        who = contributors(day.journeys)
        yield TableRows(self._table.name, day.store_id, day.date, day.pane, tuple(rows), who, day.timing)


class AggregateTable(beam.PTransform):
    """StoreDays -> one `TableRows` per store-day and pane, by a pure rows function."""

    def __init__(self, table: Table, rows: Callable[[StoreDay], list[Row]]) -> None:
        super().__init__()
        self._table = table
        self._rows = rows

    def expand(self, days: beam.PCollection) -> beam.PCollection:
        return days | "Rows" >> beam.ParDo(_Rows(self._table, self._rows))
