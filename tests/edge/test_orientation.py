"""Front / back / side / unknown from left-right key-point geometry, on synthetic skeletons."""

from __future__ import annotations

import pytest

from anonflow.contract.entry import Orientation
from anonflow.edge.orientation import orientations
from tests.edge.skeletons import BACK, FRONT, SIDE, Person, poses_of, without

SHOULDERS = ("left_shoulder", "right_shoulder")
HIPS = ("left_hip", "right_hip")


@pytest.mark.parametrize(
    ("person", "expected"),
    [
        (FRONT, Orientation.FRONT),
        (BACK, Orientation.BACK),
        (SIDE, Orientation.SIDE),
        # Hips alone decide when shoulders are unseen; with no shoulder-hip side there is no torso
        # height to call it side-on, so the sign decides.
        (without(FRONT, *SHOULDERS), Orientation.FRONT),
        (without(BACK, *SHOULDERS), Orientation.BACK),
        # Shoulders alone (hips unseen): no torso height either, the sign decides.
        (without(BACK, *HIPS), Orientation.BACK),
        # One shoulder and one hip of opposite sides: no confident pair at all.
        (without(FRONT, "left_shoulder", "right_hip"), Orientation.UNKNOWN),
        # Legs only.
        (without(FRONT, *SHOULDERS, *HIPS), Orientation.UNKNOWN),
        ({}, Orientation.UNKNOWN),
    ],
)
def test_orientation_of_one_person(person: Person, expected: Orientation) -> None:
    assert orientations(poses_of(person), point_threshold=0.2) == [expected]


@pytest.mark.parametrize(
    ("score", "threshold", "expected"),
    [(0.9, 0.2, Orientation.FRONT), (0.3, 0.2, Orientation.FRONT), (0.1, 0.2, Orientation.UNKNOWN)],
)
def test_points_below_the_threshold_do_not_count(
    score: float, threshold: float, expected: Orientation
) -> None:
    assert orientations(poses_of(FRONT, score=score), point_threshold=threshold) == [expected]


@pytest.mark.parametrize(
    ("half_width", "side_ratio", "expected"),
    [
        # Torso height 100 px; span = 2 x half_width. Side below side_ratio x torso.
        (15.0, 0.35, Orientation.SIDE),  # span 30 < 35
        (20.0, 0.35, Orientation.FRONT),  # span 40 >= 35
        (20.0, 0.5, Orientation.SIDE),  # span 40 < 50
        (-20.0, 0.35, Orientation.BACK),
    ],
)
def test_side_ratio_splits_side_from_front_and_back(
    half_width: float, side_ratio: float, expected: Orientation
) -> None:
    person = {
        name: (100 + (half_width if name.startswith("left") else -half_width), y)
        for name, (_, y) in FRONT.items()
    }
    assert orientations(poses_of(person), 0.2, side_ratio=side_ratio) == [expected]


def test_one_answer_per_person_in_order() -> None:
    result = orientations(poses_of(FRONT, SIDE, {}, BACK), 0.2)
    assert result == [Orientation.FRONT, Orientation.SIDE, Orientation.UNKNOWN, Orientation.BACK]
    assert orientations(poses_of(), 0.2) == []
