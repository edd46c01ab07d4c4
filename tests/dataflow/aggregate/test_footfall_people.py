"""Footfall's headline counts people: journeys grouped by the people estimate, with journeys beside it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from anonflow.dataflow.aggregate.footfall import footfall_rows
from anonflow.dataflow.journeys import STORE_ZONE
from anonflow.dataflow.people.model import People
from tests.dataflow.builders import T0, store_day, walk

HOUR_S = 3600


def rows(day: Any, granularity: str, zone: str) -> list[tuple[int, int, int, int | None, int]]:
    """(window start in hours after T0, visitors, journeys, unlinked, peak) of one zone and granularity
    (the day window starts at midnight, 7 h before T0)."""
    return [
        (
            (r["window_start"] - T0) // 1000 // HOUR_S,
            r["visitors"],
            r["journeys"],
            r["unlinked"],
            r["peak_occupancy"],
        )
        for r in footfall_rows(day)
        if r["granularity"] == granularity and r["zone_id"] == zone
    ]


def two_hours_apart() -> Any:
    """Two journeys in zone z, one in hour 0 and one in hour 2, plus a third person in hour 0."""
    return store_day(
        [
            [walk("a", "t1", 0, 60, 0.1, 0.2, zone="z")],
            [walk("a", "t2", 100, 160, 0.1, 0.2, zone="z")],
            [walk("a", "t3", 2 * HOUR_S + 10, 2 * HOUR_S + 70, 0.1, 0.2, zone="z")],
        ]
    )


def test_without_an_estimate_every_journey_is_a_person() -> None:
    day = two_hours_apart()
    assert rows(day, "1d", STORE_ZONE) == [(-7, 3, 3, None, 1)]
    assert rows(day, "1h", "z") == [(0, 2, 2, None, 1), (2, 1, 1, None, 1)]


def test_journeys_of_one_person_count_once_and_the_store_counts_them_while_out_of_view() -> None:
    # Journeys 0 and 2 are one person, anchored at a door; journey 1 is a fragment nobody claimed.
    day = replace(two_hours_apart(), people=People((0, 1, 0), (True, False), "doors"))
    assert rows(day, "1d", STORE_ZONE) == [(-7, 2, 3, 1, 2)]
    assert rows(day, "1d", "z") == [(-7, 2, 3, 1, 1)]
    # The person is in the store from hour 0 to hour 2, though no camera saw them in hour 1 (so the
    # store's occupancy holds both people at once in hour 0).
    assert rows(day, "1h", STORE_ZONE) == [(0, 2, 2, 1, 2), (1, 1, 0, 0, 1), (2, 1, 1, 0, 1)]
    # In a zone, a person counts where their journeys were seen; zone occupancy counts journeys.
    assert rows(day, "1h", "z") == [(0, 2, 2, 1, 1), (2, 1, 1, 0, 1)]
