"""The frame -> entry chain of one camera: pose, gate, anonymous crop, face check, attributes, tracking,
entries.

The chain owns no I/O. The pose and attribute models, the tracker and the id source are handed in, and
frames arrive with their capture time, so the same chain serves `anonflow analyze` (a file, as fast as
possible), the gateway process, the Greengrass component and the Lambda handler. A frame and its crops
are released when `process` returns; only per-track running means survive, and those die with the track.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from anonflow import __version__
from anonflow.contract.body import BODY_POINTS, POINT_INDEX
from anonflow.contract.entry import (
    POSITION_DECIMALS,
    BodyKeyPoints,
    Box,
    Demographics,
    Entry,
    KeyPoint,
    LineCrossing,
    Orientation,
    Point,
    Producer,
    ResearchDetail,
    ResearchEntry,
)
from anonflow.edge.appearance import TEMPLATE_SIZE, DailyKeys, group_ids, templates
from anonflow.edge.attributes import AttributeModel, AttributeScores
from anonflow.edge.config import CameraChainConfig
from anonflow.edge.crop import CropGeometry, fit_crops, render_crops
from anonflow.edge.demographics import attribute_probabilities, demographics
from anonflow.edge.gate import passes_gate
from anonflow.edge.heads import head_zones
from anonflow.edge.modelfiles.registry import ModelSpec
from anonflow.edge.orientation import orientations
from anonflow.edge.pose.model import PoseTiming
from anonflow.edge.pose.types import Poses
from anonflow.edge.tracking.base import Tracker
from anonflow.edge.zones import LineCounter, ZoneMap

_CORE_POINTS = [POINT_INDEX[p] for p in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]


FaceDetector = Callable[[npt.NDArray[np.uint8]], npt.NDArray[np.bool_]]
"""uint8 [M, H, W, 3] BGR crops -> bool [M], True where a face is found (edge.facecheck.FaceCheck)."""


class PoseEstimator(Protocol):
    """What the chain needs of a pose model: body points of one BGR frame, and where the time went."""

    spec: ModelSpec

    def infer(self, frame: npt.NDArray[np.uint8]) -> tuple[Poses, PoseTiming]: ...


@dataclass(frozen=True, slots=True)
class StageTimes:
    """Milliseconds per stage for one frame (0 for stages that did not run)."""

    pose: PoseTiming = field(default_factory=lambda: PoseTiming(0.0, 0.0, 0.0))
    gate_crop_ms: float = 0.0
    head_zones_ms: float = 0.0
    face_check_ms: float = 0.0
    classify_ms: float = 0.0
    track_ms: float = 0.0
    entries_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class TrackedPerson:
    """A person the tracker holds in this frame, for reports and previews (never sent anywhere).

    box: int32 [4] crop rectangle (x0, y0, x1, y1) frame pixels; points float32 [12, 2] and
    scores float32 [12] are the body points; demographics are the track's smoothed reading so far.
    """

    track_id: str
    box: npt.NDArray[np.int32]
    points: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    cap_y: float
    demographics: Demographics
    orientation: Orientation


@dataclass(frozen=True, slots=True)
class FrameResult:
    """What one frame produced: entries to send, people seen, and counts for the run summary.

    crops (only with keep_crops) are the classifier's inputs, row k belonging to crop_track_ids[k]: the
    tracks read in this frame (a track is read until it holds `attribute_readings` readings). face_dropped
    counts crops in which the independent face check found a face: never classified, kept or saved.
    poses and geometry cover every detected person, tracked or not (body points and edge-internal head
    evidence), so audit outputs can mask everyone; empty where the pose model did not run. Like the
    frame, all of it is meant to be dropped once the frame is handled.
    """

    entries: tuple[Entry, ...]
    people: tuple[TrackedPerson, ...]
    detected: int
    gated_out: int
    unusable_crops: int
    face_dropped: int
    crops: npt.NDArray[np.uint8] | None
    crop_track_ids: tuple[str, ...]
    times: StageTimes
    pose_ran: bool
    poses: Poses = field(default_factory=Poses.empty)
    geometry: CropGeometry = field(default_factory=CropGeometry.empty)
    # Passed the gate with a usable crop but matched no track: the tracker starts a track only from a
    # confident detection, and a less confident one only extends a track it already has.
    unconfirmed: int = 0


@dataclass
class _Track:
    """Running per-track state; released when the tracker ends the track."""

    attribute_sum: npt.NDArray[np.float64] | None = None
    attribute_count: int = 0
    template_sum: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(TEMPLATE_SIZE))
    last_attribute_ms: int | None = None
    last_entry_ms: int | None = None
    pending_crossings: list[LineCrossing] = field(default_factory=list)


class EdgeChain:
    """One camera's chain. Call `process` once per frame, in capture order."""

    def __init__(
        self,
        *,
        config: CameraChainConfig,
        store_id: str,
        camera_id: str,
        pose_model: PoseEstimator,
        attribute_model: AttributeModel,
        tracker: Tracker,
        face_check: FaceDetector,
        appearance_key: Callable[[int], bytes],
        new_entry_id: Callable[[], str] = lambda: secrets.token_hex(16),
        keep_crops: bool = False,
    ) -> None:
        self.config = config
        self.store_id = store_id
        self.camera_id = camera_id
        self._pose = pose_model
        self._attributes = attribute_model
        self._tracker = tracker
        self._face_check = face_check
        self._appearance_key = appearance_key
        self._new_entry_id = new_entry_id
        self._keep_crops = keep_crops
        self._zones = ZoneMap(tuple(config.zones))
        self._lines = LineCounter(tuple(config.lines))
        self._tracks: dict[str, _Track] = {}
        self._frame_index = 0
        self._last_update_ms: int | None = None
        self.producer = Producer(
            version=__version__, pose_model=pose_model.spec.name, attribute_model=attribute_model.spec.name
        )

    def process(self, frame: npt.NDArray[np.uint8], event_time_ms: int) -> FrameResult:
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"frame must be uint8 [H, W, 3] BGR, got {frame.dtype} {list(frame.shape)}")
        run_pose = self._frame_index % self.config.detect_every == 0
        self._frame_index += 1
        dt_s = 0.0 if self._last_update_ms is None else max(event_time_ms - self._last_update_ms, 0) / 1000
        self._last_update_ms = event_time_ms
        if not run_pose:
            # Keep the motion model in step so the next detection frame associates against fresh predictions.
            started = time.perf_counter()
            self._tracker.predict(dt_s)
            times = StageTimes(track_ms=_ms_since(started))
            return FrameResult((), (), 0, 0, 0, 0, None, (), times, pose_ran=False)

        poses, pose_times = self._pose.infer(frame)
        threshold = self.config.gate.point_threshold

        started = time.perf_counter()
        geometry = fit_crops(poses, frame.shape, self.config.crop, threshold)
        gated = passes_gate(poses, self.config.gate, frame_width=frame.shape[1])
        usable = gated & geometry.valid
        chosen = np.flatnonzero(usable)
        crop_ms = _ms_since(started)

        started = time.perf_counter()
        boxes = geometry.boxes[chosen].astype(np.float32)
        scores = _detection_scores(poses.scores[chosen], threshold)
        assignment = self._tracker.update(boxes, scores, dt_s)
        for ended in assignment.ended:
            self._tracks.pop(ended, None)
            self._lines.forget(ended)
        track_ms = _ms_since(started)

        started = time.perf_counter()
        tracked = [
            (int(i), tid) for i, tid in zip(chosen, assignment.track_ids, strict=True) if tid is not None
        ]
        feet = self._step_feet(frame.shape, geometry, tracked)
        entry_due = {tid for _, tid in tracked if self._entry_due(self._tracks[tid], event_time_ms)}
        steps_ms = _ms_since(started)

        started = time.perf_counter()
        heads = head_zones(poses, threshold, frame.shape)
        heads_ms = _ms_since(started)

        started = time.perf_counter()
        crops, crop_ids, face_dropped, face_ms = self._read_attributes(
            frame, geometry, poses, tracked, event_time_ms, heads=heads
        )
        classify_ms = _ms_since(started) - face_ms

        started = time.perf_counter()
        entries, people = self._entries(
            frame.shape, geometry, poses, tracked, event_time_ms, feet=feet, due=entry_due
        )
        entries_ms = steps_ms + _ms_since(started)

        return FrameResult(
            entries=tuple(entries),
            people=tuple(people),
            detected=len(poses),
            gated_out=int((~gated).sum()),
            unusable_crops=int((gated & ~geometry.valid).sum()),
            face_dropped=face_dropped,
            crops=crops if self._keep_crops else None,
            crop_track_ids=crop_ids if self._keep_crops else (),
            times=StageTimes(pose_times, crop_ms, heads_ms, face_ms, classify_ms, track_ms, entries_ms),
            pose_ran=True,
            poses=poses,
            geometry=geometry,
            unconfirmed=len(chosen) - len(tracked),
        )

    def _step_feet(
        self, frame_shape: tuple[int, ...], geometry: CropGeometry, tracked: list[tuple[int, str]]
    ) -> npt.NDArray[np.float32]:
        """Normalised foot points float32 [N, 2] of every person; tracks collect the lines they crossed."""
        height, width = frame_shape[:2]
        feet: npt.NDArray[np.float32] = np.clip(
            geometry.foot / np.array([width, height], np.float32), 0.0, 1.0
        ).astype(np.float32)
        for person, track_id in tracked:
            track = self._tracks.setdefault(track_id, _Track())
            foot = (float(feet[person, 0]), float(feet[person, 1]))
            track.pending_crossings.extend(self._lines.step(track_id, foot))
        return feet

    def _entry_due(self, track: _Track, now_ms: int) -> bool:
        interval_ms = self.config.entry_interval_s * 1000
        return (
            track.last_entry_ms is None
            or now_ms - track.last_entry_ms >= interval_ms
            or bool(track.pending_crossings)
        )

    def _read_attributes(
        self,
        frame: npt.NDArray[np.uint8],
        geometry: CropGeometry,
        poses: Poses,
        tracked: list[tuple[int, str]],
        now_ms: int,
        *,
        heads: npt.NDArray[np.int32],
    ) -> tuple[npt.NDArray[np.uint8], tuple[str, ...], int, float]:
        """Classify the crops of tracks whose reading is due, and fold the results into their means.

        A track is read at most every `attribute_every_s` and only until it holds `attribute_readings`
        readings: a person's clothes and build do not change while they walk, and each reading costs a
        network run and a face check. After that its entries carry the mean of those readings. Crops in
        which the face check finds a face are dropped first (their tracks keep their previous reading
        and are read again next time). Returns (face-free crops, their track ids, crops dropped, face
        check milliseconds).
        """
        every_ms = self.config.attribute_every_s * 1000
        limit = self.config.attribute_readings
        due = []
        for person, track_id in tracked:
            track = self._tracks[track_id]
            if limit and track.attribute_count >= limit:
                continue
            if track.last_attribute_ms is None or now_ms - track.last_attribute_ms >= every_ms:
                due.append((person, track_id))
        which = np.array([p for p, _ in due], dtype=np.intp)
        crops = render_crops(
            frame,
            geometry,
            poses,
            self.config.crop,
            which=which,
            point_threshold=self.config.gate.point_threshold,
            heads=heads,
        )
        started = time.perf_counter()
        face = self._face_check(crops) if len(crops) else np.zeros(0, bool)
        face_ms = _ms_since(started)
        crops = np.ascontiguousarray(crops[~face])
        due = [d for d, dropped in zip(due, face, strict=True) if not dropped]
        scores: AttributeScores = self._attributes(crops)
        found = templates(crops, scores.labels, scores.probabilities)
        for row, (_, track_id) in enumerate(due):
            track = self._tracks[track_id]
            probs = scores.probabilities[row].astype(np.float64)
            track.attribute_sum = probs if track.attribute_sum is None else track.attribute_sum + probs
            track.attribute_count += 1
            track.template_sum = track.template_sum + found[row]
            track.last_attribute_ms = now_ms
        return crops, tuple(track_id for _, track_id in due), int(face.sum()), face_ms

    def _entries(
        self,
        frame_shape: tuple[int, ...],
        geometry: CropGeometry,
        poses: Poses,
        tracked: list[tuple[int, str]],
        now_ms: int,
        *,
        feet: npt.NDArray[np.float32],
        due: set[str],
    ) -> tuple[list[Entry], list[TrackedPerson]]:
        height, width = frame_shape[:2]
        scale = np.array([width, height], np.float32)
        threshold = self.config.gate.point_threshold
        facing = orientations(poses, threshold)
        in_zones = self._zones.zones_at(feet[[p for p, _ in tracked]]) if tracked else []
        labels = self._attributes.labels
        entries: list[Entry] = []
        people: list[TrackedPerson] = []
        for (person, track_id), zones in zip(tracked, in_zones, strict=True):
            track = self._tracks[track_id]
            foot = (float(feet[person, 0]), float(feet[person, 1]))
            reading = Demographics()
            mean = np.zeros(len(labels), np.float32)
            if track.attribute_sum is not None:
                mean = np.asarray(track.attribute_sum / max(track.attribute_count, 1), np.float32)
                reading = demographics(labels, mean)
            people.append(
                TrackedPerson(
                    track_id=track_id,
                    box=geometry.boxes[person],
                    points=poses.points[person],
                    scores=poses.scores[person],
                    cap_y=float(geometry.cap_y[person]),
                    demographics=reading,
                    orientation=facing[person],
                )
            )
            if track_id not in due:
                continue
            template = (track.template_sum / max(track.attribute_count, 1)).astype(np.float32)
            key = self._appearance_key(now_ms)
            group = int(group_ids(template[None, :], self.config.appearance_groups, key)[0])
            fields = {
                "schema_version": 2,
                "entry_id": self._new_entry_id(),
                "store_id": self.store_id,
                "camera_id": self.camera_id,
                "track_id": track_id,
                "event_time_ms": now_ms,
                "foot": Point(x=round(foot[0], POSITION_DECIMALS), y=round(foot[1], POSITION_DECIMALS)),
                "demographics": reading,
                "appearance_group": group,
                "appearance_groups": self.config.appearance_groups,
                "zones": zones,
                "line_crossings": track.pending_crossings,
                "producer": self.producer,
            }
            if self.config.entry_detail == "minimal":
                entries.append(Entry(**fields))
            else:
                x0, y0, x1, y1 = (float(v) for v in geometry.boxes[person])
                detail = ResearchDetail(
                    box=Box(x_min=x0 / width, y_min=y0 / height, x_max=x1 / width, y_max=y1 / height),
                    keypoints=_keypoints(poses.points[person], poses.scores[person], scale, threshold),
                    orientation=facing[person],
                    attributes=attribute_probabilities(labels, mean)
                    if track.attribute_sum is not None
                    else {},
                )
                entries.append(ResearchEntry(**fields, profile="research", research=detail))
            track.pending_crossings = []
            track.last_entry_ms = now_ms
        return entries, people


def _keypoints(
    points: npt.NDArray[np.float32],
    scores: npt.NDArray[np.float32],
    scale: npt.NDArray[np.float32],
    threshold: float,
) -> BodyKeyPoints:
    normalised = np.clip(points / scale, 0.0, 1.0)
    named = {
        name: KeyPoint(
            x=round(float(normalised[k, 0]), 4),
            y=round(float(normalised[k, 1]), 4),
            score=round(float(min(max(scores[k], 0.0), 1.0)), 3),
        )
        for k, name in enumerate(BODY_POINTS)
        if scores[k] >= threshold
    }
    return BodyKeyPoints(**named)


def _detection_scores(scores: npt.NDArray[np.float32], threshold: float) -> npt.NDArray[np.float32]:
    """float32 [N]: the tracker's score per person, the mean of the core points (shoulders, hips) seen.

    Points the frame cuts off do not count against the person: someone seen from the chest up behind a
    counter is as certain as someone seen whole, and would otherwise never start a track.
    """
    core = scores[:, _CORE_POINTS]
    seen = core >= threshold
    total = np.where(seen, core, 0.0).sum(axis=1)
    mean: npt.NDArray[np.float32] = (total / np.maximum(seen.sum(axis=1), 1)).astype(np.float32)
    return mean


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def build_chain(
    config: CameraChainConfig,
    *,
    store_id: str,
    camera_id: str,
    model_dir: Path,
    threads: int = 2,
    keep_crops: bool = False,
    appearance_secret: bytes | None = None,
    time_zone: str = "UTC",
) -> EdgeChain:
    """Load the configured models (verified against the manifest) and a fresh tracker.

    appearance_secret / time_zone: the store's secret and zone the appearance groups are keyed by per
    store-local day (None: a random secret for this chain only).
    """
    from anonflow.edge.attributes import load_attribute_model
    from anonflow.edge.facecheck import FaceCheck
    from anonflow.edge.modelfiles.registry import spec
    from anonflow.edge.pose.model import choose_pose_model, load_pose_model
    from anonflow.edge.tracking.bytetrack import ByteTrack

    pose = load_pose_model(
        choose_pose_model(config.pose_model, model_dir),
        model_dir,
        threads=threads,
        input_height=config.pose_input_height,
    )
    attributes = load_attribute_model(spec(config.attribute_model, "attributes"), model_dir, threads=1)
    return EdgeChain(
        config=config,
        store_id=store_id,
        camera_id=camera_id,
        pose_model=pose,
        attribute_model=attributes,
        tracker=ByteTrack(),
        face_check=FaceCheck(config.face_check),
        appearance_key=DailyKeys(appearance_secret, store_id, time_zone),
        keep_crops=keep_crops,
    )
