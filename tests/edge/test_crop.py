"""The anonymous crop: geometry tables on synthetic skeletons, and the head cap on real frames."""

from __future__ import annotations

import numpy as np
import pytest

from anonflow.contract.body import BODY_POINTS, POINT_INDEX
from anonflow.edge.config import CropConfig
from anonflow.edge.crop import CLASSIFIER_SIZE, fit_crops, render_crops
from anonflow.edge.heads import head_zones
from anonflow.edge.pose.types import Poses


def skeleton(points: dict[str, tuple[float, float]], score: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    xy = np.zeros((len(BODY_POINTS), 2), np.float32)
    scores = np.zeros(len(BODY_POINTS), np.float32)
    for name, (x, y) in points.items():
        xy[POINT_INDEX[name]] = (x, y)
        scores[POINT_INDEX[name]] = score
    return xy, scores


def poses_of(*people: dict[str, tuple[float, float]]) -> Poses:
    built = [skeleton(p) for p in people]
    if not built:
        return Poses.empty()
    return Poses(np.stack([b[0] for b in built]), np.stack([b[1] for b in built]))


STANDING = {
    "left_shoulder": (120, 100),
    "right_shoulder": (80, 100),
    "left_hip": (115, 200),
    "right_hip": (85, 200),
    "left_knee": (115, 260),
    "right_knee": (85, 260),
    "left_ankle": (115, 320),
    "right_ankle": (85, 320),
}
NO_LEGS = {k: v for k, v in STANDING.items() if "knee" not in k and "ankle" not in k}
ONE_SHOULDER = {k: v for k, v in STANDING.items() if k != "right_shoulder"}
ONE_SHOULDER_NO_HIP = {k: v for k, v in ONE_SHOULDER.items() if k != "left_hip"}
AT_LEFT_EDGE = {k: (x - 100, y) for k, (x, y) in STANDING.items()}


@pytest.mark.parametrize(
    ("person", "valid", "box"),
    [
        # torso 100 px: cap 15 px above the shoulder line; 10 px side margin (0.25 x 40 px shoulders).
        (STANDING, True, (70, 85, 130, 328)),
        # no legs seen: extend 1.7 torso below the hips, clipped to the 480 px frame.
        (NO_LEGS, True, (70, 85, 130, 370)),
        # left edge: clipped at x = 0.
        (AT_LEFT_EDGE, True, (0, 85, 30, 328)),
        # one shoulder (a side edge cut the other) with the hip under it: the torso height is measured,
        # so the cap is too; side margin 0.25 x 0.6 torso = 15 px.
        (ONE_SHOULDER, True, (70, 85, 135, 328)),
        # one shoulder and not its hip: no measured shoulder line, so no crop.
        (ONE_SHOULDER_NO_HIP, False, None),
    ],
)
def test_crop_geometry(
    person: dict[str, tuple[float, float]], valid: bool, box: tuple[int, ...] | None
) -> None:
    geometry = fit_crops(poses_of(person), (480, 640, 3), CropConfig(), point_threshold=0.2)
    assert bool(geometry.valid[0]) is valid
    if box is not None:
        assert tuple(int(v) for v in geometry.boxes[0]) == box
        assert geometry.boxes[0, 1] >= geometry.cap_y[0]


def test_no_people_gives_empty_geometry() -> None:
    geometry = fit_crops(Poses.empty(), (480, 640, 3), CropConfig(), 0.2)
    assert len(geometry) == 0


def test_zero_size_box_is_invalid() -> None:
    # Everybody at one point: a degenerate detection must not crash and must not be classified.
    dot = dict.fromkeys(STANDING, (50.0, 50.0))
    geometry = fit_crops(poses_of(dot), (480, 640, 3), CropConfig(), 0.2)
    assert not geometry.valid[0]


def test_off_frame_person_is_invalid() -> None:
    far = {k: (x + 1000, y) for k, (x, y) in STANDING.items()}
    geometry = fit_crops(poses_of(far), (480, 640, 3), CropConfig(), 0.2)
    assert not geometry.valid[0]


def test_other_heads_are_blanked_inside_a_crop() -> None:
    """A shorter person standing in front: their head lies inside the taller person's crop and is blanked."""
    tall = STANDING
    short_in_front = {k: (x + 10, y + 60) for k, (x, y) in STANDING.items()}
    poses = poses_of(tall, short_in_front)
    frame = np.full((480, 640, 3), 255, np.uint8)
    geometry = fit_crops(poses, frame.shape, CropConfig(mask_others=False), 0.2)
    head = head_zones(poses, 0.2, frame.shape)[1]
    crops = render_crops(
        frame, geometry, poses, CropConfig(mask_others=False), which=np.array([0]), point_threshold=0.2
    )
    assert crops.shape == (1, *CLASSIFIER_SIZE, 3)
    # Map the short person's head zone into the tall person's crop and check it is neutral grey.
    x0, y0, x1, y1 = geometry.boxes[0]
    sy, sx = CLASSIFIER_SIZE[0] / (y1 - y0), CLASSIFIER_SIZE[1] / (x1 - x0)
    top, bottom = int((max(head[1], y0) - y0) * sy) + 1, int((head[3] - y0) * sy) - 1
    left, right = int((max(head[0], x0) - x0) * sx) + 1, int((min(head[2], x1) - x0) * sx) - 1
    assert bottom > top and right > left
    assert np.all(crops[0, top:bottom, left:right] == 128)
    assert np.any(crops[0] == 255)
