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
WHOLE_ONLY = GateConfig(accept_cut_off=False)
WIDTH = 640  # frame width in pixels
UPPER_BODY = without(FRONT, "left_knee", "right_knee", "left_ankle", "right_ankle")  # 6 points
CORE = {k: v for k, v in FRONT.items() if "shoulder" in k or "hip" in k}  # 4 points
# A close camera or a counter: shoulders and arms in view, hips and legs below the frame or hidden.
CLOSE_UP = {k: v for k, v in FRONT.items() if "shoulder" in k or "elbow" in k}
SHOULDERS = {k: v for k, v in FRONT.items() if "shoulder" in k}


def _shifted(person: Person, dx: float) -> Person:
    return {k: (x + dx, y) for k, (x, y) in person.items()}


# Cut by the left edge: the right shoulder (image left) is outside, the left shoulder at x = 70 is one
# torso height (100 px) from the edge. The same person in the middle of the frame is a broken skeleton.
AT_LEFT_EDGE = without(_shifted(FRONT, -60), "right_shoulder", "right_elbow", "right_hip", "right_knee")
AT_RIGHT_EDGE = without(_shifted(FRONT, WIDTH - 140), "left_shoulder", "left_elbow", "left_hip", "left_knee")
MID_FRAME = _shifted(AT_LEFT_EDGE, 250)


@pytest.mark.parametrize(
    ("person", "config", "expected"),
    [
        (FRONT, DEFAULT, True),
        (UPPER_BODY, DEFAULT, True),  # exactly min_points = 6
        (CORE, DEFAULT, False),  # 4 confident points < 6
        (CORE, GateConfig(min_points=4), True),
        # A hip unseen: cut off (a counter, the bottom edge), unless only whole people are accepted.
        (without(FRONT, "left_hip"), DEFAULT, True),
        (without(FRONT, "left_hip"), WHOLE_ONLY, False),
        (without(FRONT, "left_hip"), GateConfig(required_points=("left_shoulder", "right_shoulder")), True),
        (CLOSE_UP, DEFAULT, True),
        (SHOULDERS, DEFAULT, True),
        (CLOSE_UP, WHOLE_ONLY, False),
        (CLOSE_UP, GateConfig(cut_off_shoulder_threshold=0.95), False),  # shoulders scored 0.9
        (CLOSE_UP, GateConfig(min_shoulder_width=61.0), False),  # shoulders are 60 px apart
        # Side edges: one shoulder and the hip under it, near the edge.
        (AT_LEFT_EDGE, DEFAULT, True),
        (AT_RIGHT_EDGE, DEFAULT, True),
        (AT_LEFT_EDGE, WHOLE_ONLY, False),
        (MID_FRAME, DEFAULT, False),
        (without(AT_LEFT_EDGE, "left_hip"), DEFAULT, False),  # no hip: the torso height is unknown
        (AT_LEFT_EDGE, GateConfig(side_edge_margin=0.0), True),  # within one torso height of the edge
        (_shifted(AT_LEFT_EDGE, 40), GateConfig(side_edge_margin=0.0), False),
        # Both shoulders are always required of a whole person (the head cap hangs off the shoulder line).
        (without(FRONT, "right_shoulder"), GateConfig(required_points=(), accept_cut_off=False), False),
        (FRONT, GateConfig(required_points=("left_wrist",)), False),  # wrist not seen, hips seen
        (FRONT, GateConfig(min_points=11), False),  # 10 points seen
        (FRONT, GateConfig(min_shoulder_width=61.0), False),  # shoulders are 60 px apart
        (FRONT, GateConfig(min_shoulder_width=60.0), True),
        ({}, DEFAULT, False),
    ],
)
def test_gate_on_one_person(person: Person, config: GateConfig, expected: bool) -> None:
    assert passes_gate(poses_of(person), config, frame_width=WIDTH).tolist() == [expected]


@pytest.mark.parametrize(
    ("score", "threshold", "expected"),
    [(0.5, 0.2, True), (0.2, 0.2, True), (0.19, 0.2, False), (0.5, 0.6, False), (0.01, 0.0, True)],
)
def test_threshold_is_inclusive(score: float, threshold: float, expected: bool) -> None:
    config = GateConfig(point_threshold=threshold)
    assert passes_gate(poses_of(FRONT, score=score), config, frame_width=WIDTH).tolist() == [expected]


def test_one_weak_required_point_fails_a_whole_person() -> None:
    poses = poses_of(FRONT)
    scores = poses.scores.copy()
    scores[0, POINT_INDEX["right_hip"]] = 0.1
    assert passes_gate(Poses(poses.points, scores), WHOLE_ONLY, frame_width=WIDTH).tolist() == [False]
    # ... but a weak hip with strong shoulders is a person cut off below.
    assert passes_gate(Poses(poses.points, scores), DEFAULT, frame_width=WIDTH).tolist() == [True]
    scores[0, POINT_INDEX["left_shoulder"]] = 0.25  # confident, yet too weak to stand without hips
    assert passes_gate(Poses(poses.points, scores), DEFAULT, frame_width=WIDTH).tolist() == [False]


def test_non_finite_points_fail() -> None:
    poses = poses_of(FRONT)
    points = poses.points.copy()
    points[0, POINT_INDEX["left_knee"], 0] = np.nan
    assert passes_gate(Poses(points, poses.scores), DEFAULT, frame_width=WIDTH).tolist() == [False]


def test_one_answer_per_person() -> None:
    found = passes_gate(poses_of(FRONT, CORE, {}, UPPER_BODY, CLOSE_UP), DEFAULT, frame_width=WIDTH)
    assert found.tolist() == [True, False, False, True, True]
    assert passes_gate(Poses.empty(), DEFAULT, frame_width=WIDTH).shape == (0,)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"required_points": ("nose",)}, "unknown body points"),
        ({"min_points": 0}, "greater than or equal to 1"),
        ({"min_points": 13}, "less than or equal to 12"),
        ({"point_threshold": 1.5}, "less than or equal to 1"),
        ({"threshold": 0.3}, "Extra inputs are not permitted"),
        ({"cut_off_shoulder_threshold": -0.1}, "greater than or equal to 0"),
        ({"side_edge_margin": 0.6}, "less than or equal to 0.5"),
    ],
)
def test_bad_gate_settings_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        GateConfig.model_validate(fields)
