"""Footfall: per zone and window, distinct visitors, entries and exits across counting lines, peak occupancy.

- visitors: distinct journeys with a visit to the zone overlapping the window (zone `*`: the whole store,
  a journey's first to last observation);
- entries / exits: distinct journeys that crossed a counting line inwards / outwards in the window with
  their foot point in the zone (every crossing also counts for `*`); a journey counts once per row, so
  one person cannot move the number by more than one;
- peak_occupancy: the most journeys in the zone at one instant of the window.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable

from anonflow.contract.tables import FOOTFALL
from anonflow.dataflow.aggregate.base import (
    ALL_GRANULARITIES,
    AggregateTable,
    Cell,
    Row,
    day_windows,
    presence,
    window_columns,
)
from anonflow.dataflow.journeys import STORE_ZONE, StoreDay
from anonflow.dataflow.windows import LocalWindow


class Occupancy:
    """How many of a set of closed intervals [start, end] hold an instant; the intervals of one journey
    must not overlap (visits of a journey to one zone never do), so this counts journeys."""

    def __init__(self, spans: Iterable[tuple[int, int]]) -> None:
        spans = list(spans)
        self._starts = sorted(s for s, _ in spans)
        self._ends = sorted(e for _, e in spans)

    def at(self, t_ms: int) -> int:
        return bisect.bisect_right(self._starts, t_ms) - bisect.bisect_left(self._ends, t_ms)

    def peak(self, window: LocalWindow) -> int:
        """The most intervals holding one instant of the window (the level only rises at a start)."""
        lo = bisect.bisect_left(self._starts, window.start_ms)
        hi = bisect.bisect_left(self._starts, window.end_ms)
        return max([self.at(window.start_ms), *(self.at(s) for s in self._starts[lo:hi])])


def footfall_rows(day: StoreDay) -> list[Row]:
    spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for journey in day.journeys:
        for visit in journey.visits:
            spans[visit.zone_id].append((visit.start_ms, visit.end_ms))
    occupancy = {zone: Occupancy(zone_spans) for zone, zone_spans in spans.items()}

    rows: list[Row] = []
    for granularity in ALL_GRANULARITIES:
        windows = day_windows(day, granularity)
        crossed: dict[str, dict[Cell, set[int]]] = {"in": defaultdict(set), "out": defaultdict(set)}
        for index, journey in enumerate(day.journeys):
            for crossing in journey.crossings():
                window = windows(crossing.t_ms)
                for zone in {*crossing.zones, STORE_ZONE}:
                    crossed[crossing.direction][(zone, window)].add(index)
        for (zone, window), journeys in sorted(presence(day, windows).items()):
            rows.append(
                FOOTFALL.row(
                    {
                        "zone_id": zone,
                        **window_columns(granularity, window),
                        "visitors": len(journeys),
                        "entries": len(crossed["in"].get((zone, window), ())),
                        "exits": len(crossed["out"].get((zone, window), ())),
                        "peak_occupancy": occupancy[zone].peak(window),
                    }
                )
            )
    return rows


class Footfall(AggregateTable):
    """StoreDays -> footfall rows (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(FOOTFALL, footfall_rows)
