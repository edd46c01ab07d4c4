"""`--preview`: an audit video of what the chain saw, with every detected person's head masked.

Masking is done twice over, for every person the pose network found (tracked or not):
1. The person's head zone (`edge.heads.head_zones`, in any pose) is blanked with the neutral grey the
   crops use.
2. As a safety net for a head that reaches outside that zone (bent over, a mis-scaled torso, no
   shoulders found), a wider region above the cap, two torso heights tall, is blurred beyond
   recognition. People without a confident shoulder get it above their highest confident body point.
Then skeletons (body points only), crop boxes and track ids are drawn. A person the pose network misses
entirely is not masked; the preview is a local audit file, written only when asked for.

Only frames the pose model ran on are written (with detect_every k the video runs at 1/k of the rate).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from anonflow.contract.body import POINT_INDEX
from anonflow.contract.entry import AgeGroup, Gender, Orientation
from anonflow.contract.errors import InputError
from anonflow.edge.chain import FrameResult, TrackedPerson
from anonflow.edge.crop import CropGeometry
from anonflow.edge.heads import head_zones
from anonflow.edge.pose.types import Poses
from anonflow.edge.video import VideoFrame

FOURCC = {".mp4": "mp4v", ".avi": "MJPG"}
# The blurred safety region reaches this many torso heights above the cap, and this far to each side.
SAFETY_REACH = 2.0
SAFETY_SIDE = 0.5
NEUTRAL = 128
_UNTRACKED = (170, 170, 170)
_LIMBS = [
    (POINT_INDEX[a], POINT_INDEX[b])
    for a, b in (
        ("left_shoulder", "right_shoulder"),
        ("left_shoulder", "left_elbow"),
        ("left_elbow", "left_wrist"),
        ("right_shoulder", "right_elbow"),
        ("right_elbow", "right_wrist"),
        ("left_shoulder", "left_hip"),
        ("right_shoulder", "right_hip"),
        ("left_hip", "right_hip"),
        ("left_hip", "left_knee"),
        ("left_knee", "left_ankle"),
        ("right_hip", "right_knee"),
        ("right_knee", "right_ankle"),
    )
]


def head_masks(
    poses: Poses, geometry: CropGeometry, point_threshold: float, frame_shape: tuple[int, ...]
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """(blank, blur): int32 [N, 4] (x0, y0, x1, y1) frame rectangles per detected person, zero-size if none.

    blank is the head zone (`edge.heads`, in any pose); blur is the wider safety region above the cap
    (or above the highest confident point when no shoulder was found).
    """
    n = len(poses)
    if n == 0:
        return np.zeros((0, 4), np.int32), np.zeros((0, 4), np.int32)
    blank = head_zones(poses, point_threshold, frame_shape)
    shoulder_seen = np.asarray((poses.scores[:, :2] >= point_threshold).any(axis=1), bool)

    conf = poses.scores >= point_threshold
    any_seen = np.asarray(conf.any(axis=1), bool)
    x, y = poses.points[..., 0], poses.points[..., 1]
    x_lo = np.where(conf, x, np.inf).min(axis=1)
    x_hi = np.where(conf, x, -np.inf).max(axis=1)
    top = np.where(shoulder_seen, geometry.cap_y, np.where(conf, y, np.inf).min(axis=1))
    torso = geometry.torso
    with np.errstate(invalid="ignore"):
        blur = np.stack(
            [
                np.floor(x_lo - SAFETY_SIDE * torso),
                np.floor(top - SAFETY_REACH * torso),
                np.ceil(x_hi + SAFETY_SIDE * torso),
                np.ceil(top),
            ],
            axis=1,
        )
    blur = np.where(any_seen[:, None], np.nan_to_num(blur), 0.0)
    return blank, blur.astype(np.int32)


def mask_heads(
    image: npt.NDArray[np.uint8], poses: Poses, geometry: CropGeometry, point_threshold: float
) -> None:
    """Blur every safety region, then blank every head zone above the cap, in place."""
    blank, blur = head_masks(poses, geometry, point_threshold, image.shape)
    height, width = image.shape[:2]
    for (x0, y0, x1, y1), torso in zip(_clip(blur, width, height), geometry.torso, strict=True):
        if x1 > x0 and y1 > y0:
            # A kernel about half a torso wide leaves no facial detail at any distance.
            k = max(int(torso) // 2 * 2 + 1, 9)
            region = np.ascontiguousarray(image[y0:y1, x0:x1])
            image[y0:y1, x0:x1] = cv2.blur(cv2.blur(region, (k, k)), (k, k))
    for x0, y0, x1, y1 in _clip(blank, width, height):
        if x1 > x0 and y1 > y0:
            image[y0:y1, x0:x1] = NEUTRAL


def _clip(boxes: npt.NDArray[np.int32], width: int, height: int) -> npt.NDArray[np.int32]:
    clipped: npt.NDArray[np.int32] = np.clip(boxes, 0, [width, height, width, height]).astype(np.int32)
    return clipped


def draw_people(image: npt.NDArray[np.uint8], result: FrameResult, point_threshold: float) -> None:
    """Skeletons of every detected person (grey when not tracked), then tracked people's boxes and ids."""
    for k in range(len(result.poses)):
        _skeleton(image, result.poses.points[k], result.poses.scores[k] >= point_threshold, _UNTRACKED, 1)
    for person in result.people:
        colour = track_colour(person.track_id)
        _skeleton(image, person.points, person.scores >= point_threshold, colour, 2)
        x0, y0, x1, y1 = (int(v) for v in person.box)
        cv2.rectangle(image, (x0, y0), (x1 - 1, y1 - 1), colour, 1)
        cv2.putText(
            image, label(person), (x0 + 2, y0 + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1, cv2.LINE_AA
        )


def _skeleton(
    image: npt.NDArray[np.uint8],
    points: npt.NDArray[np.float32],
    seen: npt.NDArray[np.bool_],
    colour: tuple[int, int, int],
    thickness: int,
) -> None:
    for a, b in _LIMBS:
        if seen[a] and seen[b]:
            pa = (int(points[a, 0]), int(points[a, 1]))
            pb = (int(points[b, 0]), int(points[b, 1]))
            cv2.line(image, pa, pb, colour, thickness, cv2.LINE_AA)


def track_colour(track_id: str) -> tuple[int, int, int]:
    """A bright BGR colour fixed by the track id, so one person keeps one colour through the video."""
    hue = int(track_id[:4], 16) % 180
    bgr = cv2.cvtColor(np.array([[[hue, 220, 255]]], np.uint8), cv2.COLOR_HSV2BGR)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])


def label(person: TrackedPerson) -> str:
    """Short id plus the readings that are known, e.g. `3fa91c F adult back`."""
    parts = [person.track_id[:6]]
    reading = person.demographics
    if reading.gender is not Gender.UNKNOWN:
        parts.append("M" if reading.gender is Gender.MALE else "F")
    if reading.age_band is not None:
        parts.append(reading.age_band.value)
    elif reading.age_group is not AgeGroup.UNKNOWN:
        parts.append(reading.age_group.value)
    if person.orientation is not Orientation.UNKNOWN:
        parts.append(person.orientation.value)
    return " ".join(parts)


def render(
    frame: npt.NDArray[np.uint8], result: FrameResult, point_threshold: float
) -> npt.NDArray[np.uint8]:
    """A preview frame: a copy of `frame` with heads masked, then people drawn."""
    image = frame.copy()
    mask_heads(image, result.poses, result.geometry, point_threshold)
    draw_people(image, result, point_threshold)
    return image


class PreviewWriter:
    """A `FrameSink` writing the masked, annotated pose frames to a video (mp4 or avi).

    The video is written beside its final name and renamed when the run completes.
    """

    def __init__(self, path: Path, fps: float, point_threshold: float) -> None:
        if path.suffix.lower() not in FOURCC:
            raise InputError(f"--preview {path} must end in {' or '.join(FOURCC)}")
        if fps <= 0:
            raise ValueError(f"preview fps must be positive, got {fps}")
        self.path = path
        self.fps = fps
        self.point_threshold = point_threshold
        self._partial = path.with_name(f"{path.stem}.part{path.suffix}")
        self._writer: cv2.VideoWriter | None = None
        self.frames = 0
        path.parent.mkdir(parents=True, exist_ok=True)

    def add(self, frame: VideoFrame, result: FrameResult) -> None:
        if not result.pose_ran:
            return
        image = render(frame.image, result, self.point_threshold)
        if self._writer is None:
            height, width = image.shape[:2]
            fourcc = cv2.VideoWriter.fourcc(*FOURCC[self.path.suffix.lower()])
            self._writer = cv2.VideoWriter(str(self._partial), fourcc, self.fps, (width, height))
            if not self._writer.isOpened():
                raise InputError(f"--preview {self.path}: OpenCV cannot write this video file")
        self._writer.write(image)
        self.frames += 1

    def finish(self) -> str:
        if self._writer is None:
            return "preview          no frame was analysed, nothing written"
        self._writer.release()
        self._partial.replace(self.path)
        return f"preview          {self.frames} frames at {self.fps:.2f} fps in {self.path}"

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.release()
        self._partial.unlink(missing_ok=True)
