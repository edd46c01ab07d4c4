"""The tracking diagnosis names why the gate refused everyone in a frame."""

from __future__ import annotations

import numpy as np
import pytest

from anonflow.contract.body import POINT_INDEX
from anonflow.edge.config import GateConfig
from anonflow.edge.pose.types import Poses
from bench.tracking_diagnosis import refusal

WHOLE = {
    "left_shoulder": (100, 50),
    "right_shoulder": (130, 50),
    "left_hip": (105, 110),
    "right_hip": (125, 110),
}


def poses(*people: dict[str, tuple[float, float]]) -> Poses:
    """People with the named points seen (score 0.6) where given, every other point unseen."""
    points = np.zeros((len(people), 12, 2), np.float32)
    scores = np.zeros((len(people), 12), np.float32)
    for row, seen in enumerate(people):
        for name, xy in seen.items():
            points[row, POINT_INDEX[name]] = xy
            scores[row, POINT_INDEX[name]] = 0.6
    return Poses(points, scores)


def only(*names: str) -> dict[str, tuple[float, float]]:
    return {n: WHOLE[n] for n in names}


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (poses(), "nobody detected"),
        # The pose network grouped one body into pieces: shoulders in one skeleton, hips in another.
        (poses(only("left_shoulder"), only("left_hip", "right_hip")), "body split into fragments"),
        (poses(only("left_shoulder", "right_hip"), only("left_hip")), "body split into fragments"),
        (poses(only("left_shoulder", "left_hip", "right_hip")), "a shoulder unseen"),
        (poses(only("left_shoulder", "left_hip"), only("left_shoulder")), "a shoulder unseen"),
        (poses(WHOLE | {"right_shoulder": (101, 50)}), "shoulders overlap (side view)"),
        (poses(WHOLE), "other gate rule"),
    ],
)
def test_refusal(frame: Poses, expected: str) -> None:
    assert refusal(frame, GateConfig()) == expected
