"""`--preview`: an audit video of what the chain saw, showing no person's pixels.

The video draws skeletons (body points only), crop boxes and track ids over the run's background plate
(`BackgroundPlate`: the temporal median of frames sampled over the run), never over a frame, so people
the pose network missed are not shown either. The plate is written beside the video for reports to draw
heatmaps over. `render`/`mask_heads` keep the per-frame masking for callers that must show a live frame:
it is done twice over, for every person the pose network found (tracked or not):
1. The person's head zone (`edge.heads.head_zones`, in any pose) is blanked with the neutral grey the
   crops use.
2. As a safety net for a head that reaches outside that zone (bent over, a mis-scaled torso, no
   shoulders found), a wider region above the cap, two torso heights tall, is blurred beyond
   recognition. People without a confident shoulder get it above their highest confident body point.
Then skeletons, crop boxes and track ids are drawn. The preview is a local audit file, written only when
asked for.

Only frames the pose model ran on are written (with detect_every k the video runs at 1/k of the rate).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from anonflow.contract.body import POINT_INDEX
from anonflow.contract.entry import AgeGroup, Gender, Orientation
from anonflow.contract.errors import InputError
from anonflow.edge.chain import FrameResult, TrackedPerson
from anonflow.edge.config import FaceCheckConfig
from anonflow.edge.crop import CropGeometry
from anonflow.edge.facecheck import FaceCheck
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
    """A frame with heads masked, then people drawn (the masking a live frame would need; the preview
    video itself draws on the background plate, see `PreviewWriter`)."""
    image = frame.copy()
    mask_heads(image, result.poses, result.geometry, point_threshold)
    draw_people(image, result, point_threshold)
    return image


class BackgroundPlate:
    """The scene without its people: the per-pixel temporal median of frames sampled over the run.

    People move, so at every pixel most samples show the background. Memory is bounded: at most
    `max_frames` samples are held; when full, every other one is dropped and the sampling step doubles,
    so the samples stay spread over the whole run. Someone standing still for over half of the run
    would survive the median: the writer therefore also blanks every head zone the pose network placed
    during the run, and blurs whatever the face check still finds on the plate.
    """

    def __init__(self, max_frames: int = 32) -> None:
        if max_frames < 3:
            raise ValueError(f"a plate needs at least 3 frames, got {max_frames}")
        self.max_frames = max_frames
        self._samples: list[npt.NDArray[np.uint8]] = []
        self._step = 1
        self._seen = 0

    def add(self, frame: npt.NDArray[np.uint8]) -> None:
        if self._seen % self._step == 0:
            self._samples.append(frame.copy())
            if len(self._samples) >= self.max_frames:
                self._samples = self._samples[::2]
                self._step *= 2
        self._seen += 1

    def plate(self) -> npt.NDArray[np.uint8] | None:
        """uint8 [H, W, 3] BGR, or None before any frame."""
        if not self._samples:
            return None
        plate: npt.NDArray[np.uint8] = np.median(np.stack(self._samples), axis=0).astype(np.uint8)
        return plate


class PreviewWriter:
    """A `FrameSink` writing the audit video: skeletons, boxes and ids over a background plate.

    No frame pixel is written: every preview frame is the run's background plate (`BackgroundPlate`) with
    head zones of all people detected during the run blanked and any face the face check still finds
    blurred, so no person (detected or missed by the pose network) appears, only the drawings. The plate
    is also written beside the video as `<name>.background.png` (the picture heatmaps are drawn over).
    The drawings are kept per frame (a few hundred bytes each) and the video is written at the end,
    beside its final name, then renamed.
    """

    def __init__(
        self, path: Path, fps: float, point_threshold: float, face_check: FaceCheck | None = None
    ) -> None:
        if path.suffix.lower() not in FOURCC:
            raise InputError(f"--preview {path} must end in {' or '.join(FOURCC)}")
        if fps <= 0:
            raise ValueError(f"preview fps must be positive, got {fps}")
        self.path = path
        self.background_path = path.with_name(f"{path.stem}.background.png")
        self.fps = fps
        self.point_threshold = point_threshold
        self._partial = path.with_name(f"{path.stem}.part{path.suffix}")
        self._face_check = face_check or FaceCheck(FaceCheckConfig())
        self._plate = BackgroundPlate()
        self._drawings: list[FrameResult] = []
        self._heads: list[npt.NDArray[np.int32]] = []
        self._shape: tuple[int, ...] | None = None
        self.frames = 0
        path.parent.mkdir(parents=True, exist_ok=True)

    def add(self, frame: VideoFrame, result: FrameResult) -> None:
        self._plate.add(frame.image)
        if not result.pose_ran:
            return
        self._shape = frame.image.shape
        # Only what the drawing needs; the crops (if any) are not kept.
        self._drawings.append(replace(result, crops=None))
        blank, _ = head_masks(result.poses, result.geometry, self.point_threshold, frame.image.shape)
        self._heads.append(blank)
        self.frames += 1

    def background(self) -> npt.NDArray[np.uint8] | None:
        """The plate with every head zone of the run blanked and every face still found blurred."""
        plate = self._plate.plate()
        if plate is None:
            return None
        height, width = plate.shape[:2]
        for zones in self._heads:
            for x0, y0, x1, y1 in _clip(zones, width, height):
                if x1 > x0 and y1 > y0:
                    plate[y0:y1, x0:x1] = NEUTRAL
        for x0, y0, x1, y1 in self._face_check.find(plate):
            pad = (x1 - x0) // 2
            ya, yb, xa, xb = max(y0 - pad, 0), min(y1 + pad, height), max(x0 - pad, 0), min(x1 + pad, width)
            plate[ya:yb, xa:xb] = NEUTRAL
        return plate

    def finish(self) -> str:
        plate = self.background()
        if plate is None or not self._drawings:
            return "preview          no frame was analysed, nothing written"
        height, width = plate.shape[:2]
        fourcc = cv2.VideoWriter.fourcc(*FOURCC[self.path.suffix.lower()])
        writer = cv2.VideoWriter(str(self._partial), fourcc, self.fps, (width, height))
        if not writer.isOpened():
            raise InputError(f"--preview {self.path}: OpenCV cannot write this video file")
        try:
            for result in self._drawings:
                image = plate.copy()
                draw_people(image, result, self.point_threshold)
                writer.write(image)
        finally:
            writer.release()
        self._partial.replace(self.path)
        if not cv2.imwrite(str(self.background_path), plate):
            raise InputError(f"--preview: cannot write the background plate {self.background_path}")
        return (
            f"preview          {self.frames} frames at {self.fps:.2f} fps in {self.path} "
            f"(drawn over the background plate {self.background_path.name}: no person's pixels)"
        )

    def abort(self) -> None:
        self._drawings.clear()
        self._partial.unlink(missing_ok=True)
