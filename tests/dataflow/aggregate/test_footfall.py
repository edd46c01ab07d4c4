"""Footfall rows on hand-built store-days: visitors, entries/exits per journey, peak occupancy."""

from __future__ import annotations

from typing import Any

import pytest

from anonflow.dataflow.aggregate.footfall import Occupancy, footfall_rows
from anonflow.dataflow.journeys import STORE_ZONE
from anonflow.dataflow.windows import LocalWindow
from tests.dataflow.builders import T0, obs, store_day, walk

HOUR_MS = 3_600_000


def rows(day: Any, granularity: str, zone: str) -> list[tuple[int, int, int, int, int]]:
    """(window start offset s, visitors, entries, exits, peak) of one zone and granularity."""
    return [
        ((r["window_start"] - T0) // 1000, r["visitors"], r["entries"], r["exits"], r["peak_occupancy"])
        for r in footfall_rows(day)
        if r["granularity"] == granularity and r["zone_id"] == zone
    ]


def test_overlapping_journeys_peak_together() -> None:
    day = store_day(
        [[walk("a", "t1", 0, 60, 0.1, 0.2, zone="z")], [walk("a", "t2", 30, 90, 0.1, 0.2, zone="z")]]
    )
    assert rows(day, "1h", "z") == [(0, 2, 0, 0, 2)]
    assert rows(day, "5m", "z") == [(0, 2, 0, 0, 2)]
    assert rows(day, "1h", STORE_ZONE) == [(0, 2, 0, 0, 2)]


def test_one_after_another_never_overlap() -> None:
    day = store_day([[walk("a", f"t{i}", i * 100, i * 100 + 50, 0.1, 0.2, zone="z")] for i in range(3)])
    assert rows(day, "1h", "z") == [(0, 3, 0, 0, 1)]


def test_a_stay_across_the_hour_counts_in_both_hours() -> None:
    day = store_day([[walk("a", "t1", 3500, 3700, 0.1, 0.2, zone="z")]])
    assert rows(day, "1h", "z") == [(0, 1, 0, 0, 1), (3600, 1, 0, 0, 1)]


def test_crossings_count_journeys_once_per_row_in_the_zone_and_the_store() -> None:
    track = walk("a", "t1", 0, 10, 0.1, 0.2, zone="door")
    track[2] = obs("a", "t1", 1, zone="door", crossing=("door-line", "in"))
    track[5] = obs("a", "t1", 2.5, zone="door", crossing=("door-line", "out"))
    track[7] = obs("a", "t1", 3.5, zone="door", crossing=("door-line", "in"))
    outside = walk("b", "t2", 0, 10, 0.1, 0.2, zone="hall")
    outside[0] = obs("b", "t2", 0, crossing=("door-line", "in"))  # foot point in no zone
    day = store_day([[track], [outside]])
    assert rows(day, "1d", "door")[0][1:4] == (1, 1, 1)
    assert rows(day, "1d", STORE_ZONE)[0][1:4] == (2, 2, 1)
    assert rows(day, "1d", "hall")[0][1:4] == (1, 0, 0)


# (spans as (start, end), window, expected peak)
PEAKS = [
    ([(0, 10), (5, 20), (15, 30)], (0, 100), 2),
    ([(0, 10), (10, 20)], (0, 100), 2),  # both ends inclusive: they touch at 10
    ([(0, 10), (11, 20)], (0, 100), 1),
    ([(0, 50)], (20, 30), 1),  # present before the window opens
    ([(0, 10), (5, 10), (40, 60)], (20, 30), 0),
    ([(5, 5), (5, 5), (5, 5)], (0, 10), 3),
]


@pytest.mark.parametrize(("spans", "window", "peak"), PEAKS)
def test_occupancy_peak(spans: list[tuple[int, int]], window: tuple[int, int], peak: int) -> None:
    assert Occupancy(spans).peak(LocalWindow(*window)) == peak
