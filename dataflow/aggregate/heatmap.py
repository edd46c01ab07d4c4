"""Heatmap: foot points per cell of a grid over each camera's image, per hour and day.

observations: foot points in the cell; visitors: distinct journeys with a foot point in it. Five-minute
cells are not written: at any useful grid they are almost all below k and suppressed.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Final

from anonflow.contract.tables import HEATMAP
from anonflow.dataflow.aggregate.base import AggregateTable, Row, behind, day_windows, window_columns
from anonflow.dataflow.journeys import StoreDay
from anonflow.dataflow.tracks import MINUTE_MS
from anonflow.dataflow.windows import Granularity, LocalWindow

HEATMAP_GRANULARITIES: Final = (Granularity.HOUR, Granularity.DAY)


def heatmap_rows(day: StoreDay) -> list[Row]:
    rows: list[Row] = []
    for granularity in HEATMAP_GRANULARITIES:
        windows = day_windows(day, granularity)
        counts: dict[tuple[str, LocalWindow, int, int, int], int] = defaultdict(int)
        visitors: dict[tuple[str, LocalWindow, int, int, int], set[int]] = defaultdict(set)
        for index, journey in enumerate(day.journeys):
            for track in journey.tracks:
                for x, y, minute, observations in track.heat:
                    key = (track.fragment.camera_id, windows(minute * MINUTE_MS), track.grid_size, x, y)
                    counts[key] += observations
                    visitors[key].add(index)
        for key in sorted(counts):
            camera, window, grid_size, x, y = key
            rows.append(
                behind(
                    HEATMAP.row(
                        {
                            "camera_id": camera,
                            **window_columns(granularity, window),
                            "grid_size": grid_size,
                            "cell_x": x,
                            "cell_y": y,
                            "observations": counts[key],
                            "visitors": len(visitors[key]),
                        }
                    ),
                    visitors[key],
                )
            )
    return rows


class Heatmap(AggregateTable):
    """StoreDays -> heatmap rows (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(HEATMAP, heatmap_rows)
