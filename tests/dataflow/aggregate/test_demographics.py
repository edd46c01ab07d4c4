"""Demographics rows: one label per journey, per zone and window."""

from __future__ import annotations

from anonflow.dataflow.aggregate.demographics import demographics_rows
from anonflow.dataflow.journeys import STORE_ZONE
from tests.dataflow.builders import store_day, walk


def test_one_label_per_journey() -> None:
    day = store_day(
        [
            [walk("a", "t1", 0, 10, 0.1, 0.2, zone="z", gender="male", age_group="adult")],
            [walk("a", "t2", 0, 10, 0.1, 0.2, zone="z", gender="male", age_group="adult")],
            [walk("a", "t3", 0, 10, 0.1, 0.2, zone="y", gender="female", age_group="unknown")],
            # Two tracks of one journey with different labels: the one with more observations wins.
            [
                walk("a", "t4", 20, 30, 0.1, 0.2, zone="y", gender="female"),
                walk("b", "t5", 40, 42, 0.1, 0.2, zone="y", gender="male"),
            ],
        ]
    )
    got = sorted(
        (r["zone_id"], r["gender"], r["age_group"], r["visitors"])
        for r in demographics_rows(day)
        if r["granularity"] == "1d"
    )
    assert got == [
        (STORE_ZONE, "female", "adult", 1),
        (STORE_ZONE, "female", "unknown", 1),
        (STORE_ZONE, "male", "adult", 2),
        ("y", "female", "adult", 1),
        ("y", "female", "unknown", 1),
        ("z", "male", "adult", 2),
    ]
