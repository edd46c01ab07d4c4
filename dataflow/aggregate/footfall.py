"""Footfall: per zone and window, people, journeys, entries and exits across counting lines, peak occupancy.

- visitors (the headline): estimated people with a visit to the zone overlapping the window: distinct
  persons of the store-day's people estimate (dataflow/people/README.md) among the journeys there; for
  zone `*` (the whole store) a person is present from their first observation to their last, out of
  view or not;
- journeys: distinct journeys there (diagnostic; a person re-connection could not follow counts twice);
- unlinked: of the visitors, people whose journeys reach back to no door entry (null when the store
  names no door lines): the estimate's uncertainty, the true count most likely lying between
  visitors - unlinked and visitors;
- entries / exits: distinct journeys that crossed a counting line inwards / outwards in the window with
  their foot point in the zone (every crossing also counts for `*`); a journey counts once per row, so
  one person cannot move the number by more than one;
- peak_occupancy: the most journeys in the zone at one instant of the window (zone `*`: people).
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
    behind,
    day_windows,
    presence,
    window_columns,
)
from anonflow.dataflow.journeys import STORE_ZONE, StoreDay
from anonflow.dataflow.windows import LocalWindow, overlapping


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


def person_spans(day: StoreDay) -> list[tuple[int, int]]:
    """Per estimated person: first observation to last (UTC ms) over all their journeys."""
    people = day.persons
    spans = [(2**63 - 1, -(2**63))] * people.count
    for journey, person in zip(day.journeys, people.person_of, strict=True):
        start, end = spans[person]
        spans[person] = (min(start, journey.start_ms), max(end, journey.end_ms))
    return spans


def footfall_rows(day: StoreDay) -> list[Row]:
    people = day.persons
    stays = person_spans(day)
    spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for journey in day.journeys:
        for visit in journey.visits:
            if visit.zone_id != STORE_ZONE:
                spans[visit.zone_id].append((visit.start_ms, visit.end_ms))
    spans[STORE_ZONE] = stays
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
        journeys_in = presence(day, windows)
        people_in: dict[Cell, set[int]] = defaultdict(set)
        for (zone, window), journeys in journeys_in.items():
            if zone != STORE_ZONE:
                people_in[(zone, window)].update(people.person_of[j] for j in journeys)
        for person, (start, end) in enumerate(stays):
            for window in overlapping(windows, start, end):
                people_in[(STORE_ZONE, window)].add(person)
        for (zone, window), persons in sorted(people_in.items()):
            unlinked = sum(1 for p in persons if not people.anchored[p])
            rows.append(
                behind(
                    FOOTFALL.row(
                        {
                            "zone_id": zone,
                            **window_columns(granularity, window),
                            "visitors": len(persons),
                            "journeys": len(journeys_in.get((zone, window), ())),
                            "unlinked": unlinked if people.method == "doors" else None,
                            "entries": len(crossed["in"].get((zone, window), ())),
                            "exits": len(crossed["out"].get((zone, window), ())),
                            "peak_occupancy": occupancy[zone].peak(window),
                        }
                    ),
                    journeys_in.get((zone, window), ()),
                )
            )
    return rows


class Footfall(AggregateTable):
    """StoreDays -> footfall rows (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(FOOTFALL, footfall_rows)
