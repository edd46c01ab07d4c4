"""Flows rows: moves between zones in time order, distinct journeys per move and window."""

from __future__ import annotations

import pytest

from anonflow.dataflow.aggregate.flows import flows_rows, moves
from tests.dataflow.builders import store_day, walk


@pytest.mark.parametrize(
    ("stays", "expected"),
    [
        ([("a", 0, 10), ("b", 20, 30)], [("a", "b")]),
        ([("a", 0, 10), ("b", 20, 30), ("a", 40, 50), ("b", 60, 70)], [("a", "b"), ("b", "a"), ("a", "b")]),
        ([("a", 0, 10), ("a", 30, 40)], []),
        ([("a", 0, 30), ("b", 10, 20)], [("a", "b")]),  # overlapping views: a move when b starts
        ([("a", 0, 10)], []),
    ],
)
def test_moves(stays: list[tuple[str, int, int]], expected: list[tuple[str, str]]) -> None:
    tracks = [walk("c", f"t{i}", s, e, 0.1, 0.2, zone=z) for i, (z, s, e) in enumerate(stays)]
    (journey,) = store_day([tracks], visit_gap_ms=1000).journeys
    assert [(a, b) for a, b, _ in moves(journey)] == expected


def test_flow_rows_count_each_journey_once_per_move_and_window() -> None:
    back_and_forth = [
        walk("c", f"t{i}", s, s + 5, 0.1, 0.2, zone=z)
        for i, (z, s) in enumerate([("a", 0), ("b", 10), ("a", 20), ("b", 30)])
    ]
    once = [walk("c", "u1", 0, 5, 0.1, 0.2, zone="a"), walk("c", "u2", 10, 15, 0.1, 0.2, zone="b")]
    day = store_day([back_and_forth, once], visit_gap_ms=1000)
    got = sorted(
        (r["from_zone"], r["to_zone"], r["visitors"]) for r in flows_rows(day) if r["granularity"] == "1h"
    )
    assert got == [("a", "b", 2), ("b", "a", 1)]
