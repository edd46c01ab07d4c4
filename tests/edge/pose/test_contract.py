"""The contract every pose model honours, run over each pose family in the manifest on real frames."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from anonflow.contract.body import BODY_POINTS, POINT_INDEX
from anonflow.edge.pose.model import PoseModel, PoseTiming
from anonflow.edge.pose.types import Poses

OBO = "one-by-one-person-detection.mp4"
AISLE = "store-aisle-detection.gif"
ROOM = "people-detection.gif"
TORSO = [POINT_INDEX[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
FrameReader = Callable[[str, int], np.ndarray]
# Decoders clip points to the frame, so no margin is allowed.
MARGIN_PX = 0.0


@dataclass(frozen=True)
class Seen:
    """What a frame shows, checked by eye on the decoded frame."""

    video: str
    index: int
    clear: int  # people whose shoulders and hips are all plainly visible
    most: int  # people in the frame at all, however hidden
    what: str


REAL_FRAMES = [
    Seen(OBO, 0, 0, 0, "empty room: a table, a pillar, a window"),
    Seen(OBO, 100, 1, 1, "one woman, back view, whole body in the middle of the frame"),
    Seen(OBO, 400, 1, 1, "one man in black, back view, whole body"),
    Seen(OBO, 500, 0, 0, "empty room again"),
    Seen(AISLE, 0, 2, 2, "two shoppers, whole bodies: a man in a hat, a woman in teal"),
    Seen(AISLE, 60, 2, 3, "three shoppers; the woman in teal half hidden behind the one in brown"),
    Seen(ROOM, 22, 0, 0, "empty room after everyone has left"),
]


def _confident_people(poses: Poses, threshold: float = 0.3) -> int:
    return int((poses.scores[:, TORSO] >= threshold).all(axis=1).sum())


def _check_valid(poses: Poses, frame_w: int, frame_h: int) -> None:
    assert isinstance(poses, Poses)
    assert poses.points.shape[1:] == (len(BODY_POINTS), 2) == (12, 2)
    assert poses.scores.dtype == np.float32 and poses.points.dtype == np.float32
    assert np.all((poses.scores >= 0) & (poses.scores <= 1))
    assert np.all(np.isfinite(poses.points))
    found = poses.scores > 0
    xs, ys = poses.points[..., 0][found], poses.points[..., 1][found]
    assert np.all((xs >= -MARGIN_PX) & (xs <= frame_w - 1 + MARGIN_PX)), "x outside the frame"
    assert np.all((ys >= -MARGIN_PX) & (ys <= frame_h - 1 + MARGIN_PX)), "y outside the frame"


@pytest.mark.parametrize("seen", REAL_FRAMES, ids=[f"{s.video.split('.')[0]}-{s.index}" for s in REAL_FRAMES])
def test_people_on_real_frames(pose_model: PoseModel, video_frame: FrameReader, seen: Seen) -> None:
    frame = video_frame(seen.video, seen.index)
    poses, timing = pose_model.infer(frame)

    _check_valid(poses, frame.shape[1], frame.shape[0])
    assert _confident_people(poses) >= seen.clear, seen.what
    assert len(poses) <= seen.most, seen.what
    assert isinstance(timing, PoseTiming)
    assert min(timing.prepare_ms, timing.inference_ms, timing.decode_ms) >= 0


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((270, 480, 3), np.uint8),
        np.full((432, 768, 3), 128, np.uint8),
        np.full((360, 480, 3), 255, np.uint8),
        np.random.default_rng(7).integers(0, 256, (360, 640, 3), dtype=np.uint8),
        np.zeros((16, 1000, 3), np.uint8),  # a thin strip: extreme aspect ratio
        np.zeros((2, 2, 3), np.uint8),
    ],
    ids=["black", "gray", "white", "noise", "strip", "2x2"],
)
def test_no_people_on_frames_without_people(pose_model: PoseModel, frame: np.ndarray) -> None:
    poses = pose_model(frame)
    _check_valid(poses, frame.shape[1], frame.shape[0])
    assert len(poses) == 0


def test_deterministic(pose_model: PoseModel, video_frame: FrameReader) -> None:
    frame = video_frame(AISLE, 60)
    first, second = pose_model(frame), pose_model(frame)
    assert len(first) > 0
    np.testing.assert_array_equal(first.points, second.points)
    np.testing.assert_array_equal(first.scores, second.scores)


def test_points_follow_the_frame(pose_model: PoseModel, video_frame: FrameReader) -> None:
    """A mirrored frame gives mirrored people with left and right swapped: no offset in the mapping."""
    frame = video_frame(OBO, 400)
    poses = pose_model(frame)
    mirrored = pose_model(np.ascontiguousarray(frame[:, ::-1]))
    assert len(poses) == len(mirrored) == 1
    swap = [
        POINT_INDEX[n.replace("left", "#").replace("right", "left").replace("#", "right")]
        for n in BODY_POINTS
    ]
    back = mirrored.points[0, swap].copy()
    back[:, 0] = frame.shape[1] - 1 - back[:, 0]
    both = (poses.scores[0] > 0.5) & (mirrored.scores[0, swap] > 0.5)
    assert both[TORSO].all()
    person_height = np.ptp(poses.points[0, both, 1])
    error = np.linalg.norm(back[both] - poses.points[0, both], axis=1)
    shift = np.mean(back[both] - poses.points[0, both], axis=0)
    # A mapping error (a stride, a padding offset, a scale) moves every point the same way and shows as a
    # mean shift; the networks are not exactly mirror-symmetric, so single points get a looser bound.
    # Measured here: OpenPose shifts < 1 px; YOLO up to 4 px on this frame (its anchors jitter).
    assert np.all(np.abs(shift) < 0.04 * person_height), f"mean shift {shift} px"
    assert float(error.max()) < 0.15 * person_height
