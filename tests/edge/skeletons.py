"""Synthetic skeletons for table-driven tests: named body points in, `Poses` out."""

from __future__ import annotations

import numpy as np

from anonflow.contract.body import BODY_POINTS, POINT_INDEX
from anonflow.edge.pose.types import Poses

Person = dict[str, tuple[float, float]]


def poses_of(*people: Person, score: float = 0.9) -> Poses:
    """One row per person; named points get `score`, the others 0 (unseen)."""
    if not people:
        return Poses.empty()
    points = np.zeros((len(people), len(BODY_POINTS), 2), np.float32)
    scores = np.zeros((len(people), len(BODY_POINTS)), np.float32)
    for row, person in enumerate(people):
        for name, (x, y) in person.items():
            points[row, POINT_INDEX[name]] = (x, y)
            scores[row, POINT_INDEX[name]] = score
    return Poses(points, scores)


# Facing the camera: the person's left shoulder appears on the image's right (larger x).
# Adult proportions: shoulders 0.6 and hips 0.4 of the torso height (100 px).
FRONT: Person = {
    "left_shoulder": (130, 100),
    "right_shoulder": (70, 100),
    "left_elbow": (135, 150),
    "right_elbow": (65, 150),
    "left_hip": (120, 200),
    "right_hip": (80, 200),
    "left_knee": (115, 260),
    "right_knee": (85, 260),
    "left_ankle": (115, 320),
    "right_ankle": (85, 320),
}
BACK: Person = {name: (200 - x, y) for name, (x, y) in FRONT.items()}
# Side-on: left and right points nearly on top of each other.
SIDE: Person = {name: (100 + (4 if name.startswith("left") else -4), y) for name, (x, y) in FRONT.items()}


def without(person: Person, *names: str) -> Person:
    return {k: v for k, v in person.items() if k not in names}
