"""Dwell rows: per journey the visits that began in the window, summarised as p50 / p90 / mean."""

from __future__ import annotations

import pytest

from anonflow.dataflow.aggregate.dwell import dwell_rows, quantile
from anonflow.dataflow.journeys import STORE_ZONE
from tests.dataflow.builders import T0, store_day, walk


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([10.0], 0.5, 10.0),
        ([10.0, 20.0], 0.5, 15.0),
        ([0.0, 10.0, 20.0, 30.0, 40.0], 0.9, 36.0),
        ([1.0, 2.0], 1.0, 2.0),
    ],
)
def test_quantile_interpolates_like_numpy(values: list[float], q: float, expected: float) -> None:
    assert quantile(values, q) == pytest.approx(expected)


def test_dwell_per_zone_and_window() -> None:
    day = store_day(
        [
            [walk("a", "t1", 0, 30, 0.1, 0.2, zone="z")],
            [walk("a", "t2", 100, 200, 0.1, 0.2, zone="z")],
            # Two stays of one journey in the zone, 60 s apart: summed.
            [walk("a", "t3", 300, 310, 0.1, 0.2, zone="z"), walk("b", "t4", 370, 380, 0.1, 0.2, zone="z")],
            # Begins in the first hour, ends in the second: counted where it began.
            [walk("a", "t5", 3590, 3700, 0.1, 0.2, zone="y")],
        ]
    )
    got = {
        (r["zone_id"], r["granularity"], (r["window_start"] - T0) // 1000): (
            r["visitors"],
            r["dwell_p50_s"],
            r["dwell_p90_s"],
            r["dwell_mean_s"],
        )
        for r in dwell_rows(day)
    }
    # Per journey: 30 s, 100 s and 10 + 10 s; p90 interpolates between 30 and 100.
    assert got[("z", "1h", 0)] == (3, pytest.approx(30.0), pytest.approx(86.0), pytest.approx(50.0))
    assert got[("y", "1h", 0)] == (1, 110.0, 110.0, 110.0)
    assert ("y", "1h", 3600) not in got
    assert got[(STORE_ZONE, "1d", -7 * 3600)][0] == 4  # the UTC day starts 7 h before T0
    assert got[(STORE_ZONE, "5m", 300)] == (1, 80.0, 80.0, 80.0)  # the whole journey, first to last
