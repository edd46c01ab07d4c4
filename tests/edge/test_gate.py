"""The gate (claims 14-16): required points, least number of confident points, threshold, width."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from anonflow.contract.body import POINT_INDEX
from anonflow.edge.config import GateConfig
from anonflow.edge.gate import passes_gate
from anonflow.edge.pose.types import Poses
from tests.edge.skeletons import FRONT, Person, poses_of, without

DEFAULT = GateConfig()
UPPER_BODY = without(FRONT, "left_knee", "right_knee", "left_ankle", "right_ankle")  # 6 points
CORE = {k: v for k, v in FRONT.items() if "shoulder" in k or "hip" in k}  # 4 points


@pytest.mark.parametrize(
    ("person", "config", "expected"),
    [
        (FRONT, DEFAULT, True),
        (UPPER_BODY, DEFAULT, True),  # exactly min_points = 6
        (CORE, DEFAULT, False),  # 4 confident points < 6
        (CORE, GateConfig(min_points=4), True),
        (without(FRONT, "left_hip"), DEFAULT, False),  # a required point is missing
        (without(FRONT, "left_hip"), GateConfig(required_points=("left_shoulder", "right_shoulder")), True),
        # Both shoulders are always required (the head cap hangs off the shoulder line).
        (without(FRONT, "right_shoulder"), GateConfig(required_points=()), False),
        (FRONT, GateConfig(required_points=("left_wrist",)), False),  # wrist not seen
        (FRONT, GateConfig(min_points=11), False),  # 10 points seen
        (FRONT, GateConfig(min_shoulder_width=61.0), False),  # shoulders are 60 px apart
        (FRONT, GateConfig(min_shoulder_width=60.0), True),
        ({}, DEFAULT, False),
    ],
)
def test_gate_on_one_person(person: Person, config: GateConfig, expected: bool) -> None:
    assert passes_gate(poses_of(person), config).tolist() == [expected]


@pytest.mark.parametrize(
    ("score", "threshold", "expected"),
    [(0.5, 0.2, True), (0.2, 0.2, True), (0.19, 0.2, False), (0.5, 0.6, False), (0.01, 0.0, True)],
)
def test_threshold_is_inclusive(score: float, threshold: float, expected: bool) -> None:
    assert passes_gate(poses_of(FRONT, score=score), GateConfig(point_threshold=threshold)).tolist() == [
        expected
    ]


def test_one_weak_required_point_fails_the_person() -> None:
    poses = poses_of(FRONT)
    scores = poses.scores.copy()
    scores[0, POINT_INDEX["right_hip"]] = 0.1
    assert passes_gate(Poses(poses.points, scores), DEFAULT).tolist() == [False]


def test_non_finite_points_fail() -> None:
    poses = poses_of(FRONT)
    points = poses.points.copy()
    points[0, POINT_INDEX["left_knee"], 0] = np.nan
    assert passes_gate(Poses(points, poses.scores), DEFAULT).tolist() == [False]


def test_one_answer_per_person() -> None:
    assert passes_gate(poses_of(FRONT, CORE, {}, UPPER_BODY), DEFAULT).tolist() == [True, False, False, True]
    assert passes_gate(Poses.empty(), DEFAULT).shape == (0,)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"required_points": ("nose",)}, "unknown body points"),
        ({"min_points": 0}, "greater than or equal to 1"),
        ({"min_points": 13}, "less than or equal to 12"),
        ({"point_threshold": 1.5}, "less than or equal to 1"),
        ({"threshold": 0.3}, "Extra inputs are not permitted"),
    ],
)
def test_bad_gate_settings_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        GateConfig.model_validate(fields)
