"""Flows: distinct journeys moving from one zone to another, per window of the move.

A journey's visits to real zones (not `*`) in start order; each next visit to a different zone that starts
strictly later is a move from the previous visit's zone, made when the next visit starts. Zones of
different cameras give the flows between cameras that re-connection makes visible.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

from anonflow.contract.tables import FLOWS
from anonflow.dataflow.aggregate.base import (
    ALL_GRANULARITIES,
    AggregateTable,
    Row,
    behind,
    day_windows,
    window_columns,
)
from anonflow.dataflow.journeys import STORE_ZONE, Journey, StoreDay
from anonflow.dataflow.windows import LocalWindow


def moves(journey: Journey) -> list[tuple[str, str, int]]:
    """(from_zone, to_zone, t_ms) of every move of the journey, in time order."""
    visits = [v for v in journey.visits if v.zone_id != STORE_ZONE]
    return [
        (a.zone_id, b.zone_id, b.start_ms)
        for a, b in itertools.pairwise(visits)
        if a.zone_id != b.zone_id and b.start_ms > a.start_ms
    ]


def flows_rows(day: StoreDay) -> list[Row]:
    journey_moves = [moves(journey) for journey in day.journeys]
    rows: list[Row] = []
    for granularity in ALL_GRANULARITIES:
        windows = day_windows(day, granularity)
        movers: dict[tuple[LocalWindow, str, str], set[int]] = defaultdict(set)
        for index, journey_move in enumerate(journey_moves):
            for source, target, t_ms in journey_move:
                movers[(windows(t_ms), source, target)].add(index)
        for (window, source, target), journeys in sorted(movers.items()):
            rows.append(
                behind(
                    FLOWS.row(
                        {
                            **window_columns(granularity, window),
                            "from_zone": source,
                            "to_zone": target,
                            "visitors": len(journeys),
                        }
                    ),
                    journeys,
                )
            )
    return rows


class Flows(AggregateTable):
    """StoreDays -> flows rows (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(FLOWS, flows_rows)
