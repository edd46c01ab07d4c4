"""The two pose families agree on where the torso is when people are large and plainly visible."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from anonflow.contract.body import POINT_INDEX
from anonflow.edge.pose.model import PoseModel
from anonflow.edge.pose.types import Poses

FrameReader = Callable[[str, int], np.ndarray]
TORSO = [POINT_INDEX[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
# Measured on these frames: torso points differ by at most 0.09 of the person's height (the families
# place hips differently); a decoding error (wrong scale, a stride, left/right swapped) exceeds this.
TOLERANCE = 0.12

# Frames with one or two people 110-280 px tall, whole bodies, torsos unhidden (checked by eye).
BIG_PEOPLE = [
    ("one-by-one-person-detection.mp4", 300),
    ("one-by-one-person-detection.mp4", 800),
    ("one-by-one-person-detection.mp4", 1300),
    ("store-aisle-detection.gif", 20),
]


@pytest.fixture(scope="module")
def families(release_pose_model: Callable[[str], PoseModel]) -> tuple[PoseModel, PoseModel]:
    return release_pose_model("openpose"), release_pose_model("yolo-pose")


def _boxes(poses: Poses, threshold: float = 0.3) -> np.ndarray:
    """[N, 4] (x_min, y_min, x_max, y_max) around each person's confident points."""
    boxes = np.zeros((len(poses), 4), np.float32)
    for i in range(len(poses)):
        pts = poses.points[i][poses.scores[i] >= threshold]
        if len(pts):
            boxes[i] = [*pts.min(axis=0), *pts.max(axis=0)]
    return boxes


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=-1)
    area = lambda x: np.prod(x[:, 2:] - x[:, :2], axis=-1)  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None, :] - inter, 1e-6)


def _clear(poses: Poses) -> np.ndarray:
    return np.flatnonzero((poses.scores[:, TORSO] >= 0.5).all(axis=1))


@pytest.mark.parametrize(("video", "index"), BIG_PEOPLE)
def test_torso_points_agree(
    families: tuple[PoseModel, PoseModel], video_frame: FrameReader, video: str, index: int
) -> None:
    frame = video_frame(video, index)
    openpose, yolo = (model(frame) for model in families)
    a, b = _clear(openpose), _clear(yolo)
    assert len(a) == len(b) >= 1
    overlap = _iou(_boxes(openpose)[a], _boxes(yolo)[b])
    for i, person in enumerate(a):
        j = int(np.argmax(overlap[i]))
        assert overlap[i, j] >= 0.5, f"OpenPose person {person} has no YOLO counterpart"
        other = b[j]
        box = _boxes(openpose)[person]
        height = float(box[3] - box[1])
        distance = np.linalg.norm(openpose.points[person, TORSO] - yolo.points[other, TORSO], axis=1)
        assert np.all(distance <= TOLERANCE * height), f"torso distance {distance} px, height {height:.0f} px"
