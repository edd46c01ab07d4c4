"""Dwell: how long visitors stayed in a zone. A journey's dwell in a zone for a window is the total length of
its visits to the zone that began in the window (zone `*`: the whole journey, first to last observation);
rows give the number of such journeys and the median, 90th percentile and mean of their dwell."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from anonflow.contract.tables import DWELL
from anonflow.dataflow.aggregate.base import (
    ALL_GRANULARITIES,
    AggregateTable,
    Cell,
    Row,
    behind,
    day_windows,
    window_columns,
)
from anonflow.dataflow.journeys import StoreDay


def quantile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile of sorted values, interpolating linearly between closest ranks (numpy's default)."""
    if not ordered:
        raise ValueError("quantile of no values")
    position = (len(ordered) - 1) * q
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def dwell_rows(day: StoreDay) -> list[Row]:
    rows: list[Row] = []
    for granularity in ALL_GRANULARITIES:
        windows = day_windows(day, granularity)
        dwell: dict[Cell, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        for index, journey in enumerate(day.journeys):
            for visit in journey.visits:
                dwell[(visit.zone_id, windows(visit.start_ms))][index] += visit.seconds
        for (zone, window), per_journey in sorted(dwell.items()):
            values = sorted(per_journey.values())
            rows.append(
                behind(
                    DWELL.row(
                        {
                            "zone_id": zone,
                            **window_columns(granularity, window),
                            "visitors": len(values),
                            "dwell_p50_s": quantile(values, 0.5),
                            "dwell_p90_s": quantile(values, 0.9),
                            "dwell_mean_s": sum(values) / len(values),
                        }
                    ),
                    per_journey,
                )
            )
    return rows


class Dwell(AggregateTable):
    """StoreDays -> dwell rows (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(DWELL, dwell_rows)
