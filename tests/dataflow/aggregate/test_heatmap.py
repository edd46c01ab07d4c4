"""Heatmap rows: foot points and distinct journeys per camera, grid cell and window (hour and day)."""

from __future__ import annotations

from anonflow.dataflow.aggregate.heatmap import heatmap_rows
from tests.dataflow.builders import obs, store_day


def test_cells_count_points_and_journeys() -> None:
    day = store_day(
        [
            [[obs("a", "t1", 0, 0.1, 0.1), obs("a", "t1", 1, 0.1, 0.1), obs("a", "t1", 2, 0.9, 0.9)]],
            [[obs("a", "t2", 0, 0.1, 0.1)], [obs("b", "t3", 5, 0.1, 0.1)]],
        ]
    )
    got = sorted(
        (
            r["granularity"],
            r["camera_id"],
            r["cell_x"],
            r["cell_y"],
            r["observations"],
            r["visitors"],
            r["grid_size"],
        )
        for r in heatmap_rows(day)
    )
    assert got == [
        ("1d", "a", 0, 0, 3, 2, 4),
        ("1d", "a", 3, 3, 1, 1, 4),
        ("1d", "b", 0, 0, 1, 1, 4),
        ("1h", "a", 0, 0, 3, 2, 4),
        ("1h", "a", 3, 3, 1, 1, 4),
        ("1h", "b", 0, 0, 1, 1, 4),
    ]
