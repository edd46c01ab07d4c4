"""Journeys: zone visits merged over short gaps, the whole-store visit, one majority label per journey."""

from __future__ import annotations

import pytest

from anonflow.dataflow.journeys import STORE_ZONE, Visit, _majority
from tests.dataflow.builders import T0, obs, store_day, walk


def test_visits_merge_across_short_gaps_only() -> None:
    tracks = [
        walk("a", "t1", 0, 10, 0.1, 0.2, zone="z"),
        walk("a", "t2", 12, 20, 0.2, 0.3, zone="z"),  # 2 s after: the same stay
        walk("b", "t3", 40, 50, 0.2, 0.3, zone="z"),  # 20 s after: a new stay
    ]
    (journey,) = store_day([tracks], visit_gap_ms=4000).journeys
    assert journey.visits == (  # in order of start, then end
        Visit("z", T0, T0 + 20_000),
        Visit(STORE_ZONE, T0, T0 + 50_000),
        Visit("z", T0 + 40_000, T0 + 50_000),
    )


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ([("female", 3), ("male", 1)], "female"),
        ([("unknown", 9), ("male", 1)], "male"),
        ([("female", 2), ("male", 2), ("unknown", 5)], "unknown"),
        ([("unknown", 4)], "unknown"),
        ([], "unknown"),
        ([("male", 2), ("female", 1), ("female", 2)], "female"),
    ],
)
def test_majority_label(labels: list[tuple[str, int]], expected: str) -> None:
    assert _majority(labels) == expected


def test_journey_label_is_over_all_its_observations() -> None:
    tracks = [
        [obs("a", "t1", 0, gender="male"), obs("a", "t1", 1, gender="male")],
        [obs("b", "t2", 9, gender="female", age_group="senior") for _ in range(1)]
        + [obs("b", "t2", s, gender="female", age_group="senior") for s in (10, 11)],
    ]
    (journey,) = store_day([tracks]).journeys
    assert (journey.gender, journey.age_group) == ("female", "senior")


def test_store_day_date_is_local() -> None:
    # T0 + 17 h = 2024-05-15T00:00Z: still the 14th in New York.
    day = store_day([[walk("a", "t", 17 * 3600, 17 * 3600 + 5, 0.1, 0.2)]], time_zone="America/New_York")
    assert day.date == "2024-05-14"
    assert store_day([[walk("a", "t", 17 * 3600, 17 * 3600 + 5, 0.1, 0.2)]]).date == "2024-05-15"
