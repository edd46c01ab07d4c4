"""ByteTrack: per-camera tracking by associating every detection box, high and low score.

After Zhang, Sun, Jiang, Yu, Weng, Yuan, Luo, Liu and Wang, "ByteTrack: Multi-Object Tracking by
Associating Every Detection Box", ECCV 2022 (arXiv 2110.06864). Each update:

1. Every track's box is advanced by a constant-velocity Kalman filter (`edge.tracking.kalman`).
2. High-score detections are matched to all confirmed tracks, tracked and lost, by IoU of the predicted
   boxes, with an optimal assignment under an IoU floor.
3. Low-score detections (often people partly hidden) are matched to the tracks still unmatched that were
   tracked until now (optionally also to lost ones: `low_score_revives_lost`), with a stricter IoU floor;
   they never start tracks. Tracked tracks left over become lost.
4. Tentative tracks (not yet confirmed) are matched to the high-score detections left and the weaker
   ones from `weak_keep_score` (a track continued on one then needs the hits of a weak start, below; the
   paper matches high-score ones only, and drops the track), by the better IoU of their predicted and
   their last seen box: a track with two or three hits has no velocity worth extrapolating, and a person
   shifting their weight made its prediction overshoot (measured: a person detected in all 6 frames of
   a clip lost their tentative track at IoU 0.22 to the prediction, 0.49 to the last box). One that
   reaches the hits it needs is confirmed. It may miss `tentative_misses` detection frames over its
   tentative life, each miss adding one hit to what it needs; one more miss drops it.
5. High-score detections still left start tentative tracks (confirmed at once on the tracker's first
   frame, as in the paper, so people present at start-up are not delayed). Weaker detections left (from
   `weak_start_score`) start tracks too, confirmed only after `weak_start_hits` hits: the edge's score is
   a pose network's key-point confidence, and a small or blurred person who passed the gate may never
   reach the paper's 0.6 (measured: 36 % of people shown alone were never tracked without this).
6. Lost tracks not seen for `lost_buffer_s` seconds are ended.

Differences from the reference code, each on purpose: time is in seconds (lost buffer, Kalman noise),
so variable frame rates and detecting every k frames work; the state is (cx, cy, w, h) rather than
(cx, cy, aspect, h), so a zero-height box cannot divide by zero; and the reference's final removal of
lost tracks overlapping tracked ones is left out, because in a store it ends the track of a person just
as someone walks in front of them, which is exactly the occlusion the lost buffer exists to bridge.

Ids are `secrets.token_hex(8)` drawn when a track is confirmed: random per process, never derived from
appearance, time or a counter, so they cannot be linked across restarts.

Bad rows: a detection with a non-finite coordinate or score, or with no area, is skipped: it gets no id,
touches no track and is counted in `skipped`. It comes from a model on a damaged frame and must not cost
the other people in that frame their tracks. Wrong shapes, dtypes or `dt_s` are programming errors and
raise ValueError.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import Enum

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from anonflow.contract.settings import StrictModel
from anonflow.edge.tracking.assignment import match
from anonflow.edge.tracking.base import TrackAssignment
from anonflow.edge.tracking.iou import iou_matrix
from anonflow.edge.tracking.kalman import BoxKalman, cxcywh_to_xyxy, xyxy_to_cxcywh


class ByteTrackConfig(StrictModel):
    """ByteTrack settings; defaults are the paper's (its 30-frame buffer at 30 fps is 1 s)."""

    high_score: float = Field(
        0.5,
        gt=0.0,
        le=1.0,
        description="Detections scoring at least this take part in the first association.",
    )
    low_score: float = Field(
        0.1,
        ge=0.0,
        lt=1.0,
        description="Detections scoring at least this but below `high_score` may only extend tracked people; "
        "below it they are ignored.",
    )
    new_track_score: float = Field(
        0.6, gt=0.0, le=1.0, description="Least score of an unmatched detection to start a new track."
    )
    match_iou_high: float = Field(
        0.2, gt=0.0, lt=1.0, description="Least IoU to match a high-score detection to a track."
    )
    match_iou_low: float = Field(
        0.5, gt=0.0, lt=1.0, description="Least IoU to match a low-score detection to a tracked person."
    )
    match_iou_tentative: float = Field(
        0.3, gt=0.0, lt=1.0, description="Least IoU to match a detection to a track not yet confirmed."
    )
    min_hits: int = Field(
        2,
        ge=1,
        le=30,
        description="Matched detections before a track started confidently is confirmed and gets an id "
        "(one more per missed frame: `tentative_misses`).",
    )
    weak_start_score: float = Field(
        0.35,
        gt=0.0,
        le=1.0,
        description="Least score of an unmatched detection to start a track that must then be seen "
        "`weak_start_hits` times (from `weak_keep_score`) before it is confirmed. The edge's "
        "score is the mean heatmap peak of a person's core body points: a small or blurred person who "
        "passed the gate scores 0.3-0.6 in every frame and would otherwise never be tracked.",
    )
    weak_start_hits: int = Field(
        4,
        ge=1,
        le=60,
        description="Detections a track started below `new_track_score` needs to be confirmed "
        "(measured: 2 lets a shopper's flickering fragment become an extra track on the store aisle).",
    )
    weak_keep_score: float = Field(
        0.2,
        ge=0.0,
        le=1.0,
        description="Least score of a detection that continues a track not yet confirmed (below "
        "`high_score`, the track then needs `weak_start_hits`). Below `weak_start_score` on purpose: the "
        "edge's score wavers by 0.1 from frame to frame for a person standing still, and demanding the "
        "start score again dropped people detected in every frame (0.2 is the gate's point threshold: "
        "every person the gate passes scores at least that).",
    )
    tentative_misses: int = Field(
        1,
        ge=0,
        le=5,
        description="Detection frames a track not yet confirmed may miss (a frame in which the gate "
        "refused the person); each adds one hit to what the track needs, so a detection flickering on "
        "and off never adds up. 0: a tentative track must be seen in every frame, as in the paper.",
    )
    lost_buffer_s: float = Field(
        1.0, gt=0.0, le=60.0, description="Seconds a lost track is kept for re-finding before it is ended."
    )

    low_score_revives_lost: bool = Field(
        False,
        description="Let low-score detections also re-find lost tracks, not only extend tracked ones. Off "
        "in the paper (a low-score box is weak evidence); on keeps the id of a shopper half hidden behind "
        "a shelf whose detection flickers.",
    )

    @model_validator(mode="after")
    def _ordered_scores(self) -> ByteTrackConfig:
        if not self.low_score < self.high_score <= self.new_track_score:
            raise ValueError(
                "scores must satisfy low_score < high_score <= new_track_score, got "
                f"{self.low_score}, {self.high_score}, {self.new_track_score}"
            )
        if not self.low_score <= self.weak_start_score <= self.new_track_score:
            raise ValueError(
                "scores must satisfy low_score <= weak_start_score <= new_track_score, got "
                f"{self.low_score}, {self.weak_start_score}, {self.new_track_score}"
            )
        if not self.low_score <= self.weak_keep_score <= self.weak_start_score:
            raise ValueError(
                "scores must satisfy low_score <= weak_keep_score <= weak_start_score, got "
                f"{self.low_score}, {self.weak_keep_score}, {self.weak_start_score}"
            )
        return self


@dataclass(frozen=True, slots=True)
class SkippedDetections:
    """Detections the tracker set aside since it started (see the module docstring)."""

    non_finite: int = 0
    no_area: int = 0


class _State(Enum):
    TENTATIVE = "tentative"
    TRACKED = "tracked"
    LOST = "lost"


@dataclass(slots=True)
class _Track:
    mean: npt.NDArray[np.float64]  # [8] Kalman state, see edge.tracking.kalman
    cov: npt.NDArray[np.float64]  # [8, 8]
    state: _State
    last_box: npt.NDArray[np.float64]  # [4] (x_min, y_min, x_max, y_max) of its last detection
    hits: int = 1
    needs: int = 1  # hits to be confirmed (more for a track started by a weak detection, +1 per miss)
    misses: int = 0  # detection frames missed while tentative
    weak: bool = False  # started below `new_track_score`: may continue on weaker detections
    since_seen_s: float = 0.0
    track_id: str | None = None  # drawn on confirmation


class ByteTrack:
    """The `edge.tracking.base.Tracker` of one camera (see the module docstring)."""

    def __init__(self, config: ByteTrackConfig | None = None, kalman: BoxKalman | None = None) -> None:
        self.config = config or ByteTrackConfig()
        self._kalman = kalman or BoxKalman()
        self._tracks: list[_Track] = []
        self._updates = 0
        self._skipped = SkippedDetections()

    @property
    def _weak_needs(self) -> int:
        """Hits a track started (or continued) on a weak detection needs to be confirmed."""
        return max(self.config.weak_start_hits, self.config.min_hits + 1)

    @property
    def skipped(self) -> SkippedDetections:
        return self._skipped

    def update(
        self, boxes: npt.NDArray[np.float32], scores: npt.NDArray[np.float32], dt_s: float
    ) -> TrackAssignment:
        """Advance by `dt_s` seconds and associate this frame's detections.

        boxes: float32 [N, 4] pixel (x_min, y_min, x_max, y_max); scores: float32 [N]. Returns one id
        (or None) per input row, and the ids of tracks ended in this update.
        """
        _check_detections(boxes, scores)
        self._advance(dt_s)  # 1: every track to where it should be now
        self._updates += 1
        cfg = self.config
        n = boxes.shape[0]

        finite = np.isfinite(boxes).all(axis=1) & np.isfinite(scores)
        with np.errstate(invalid="ignore"):
            has_area = finite & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
            high = np.flatnonzero(has_area & (scores >= cfg.high_score))
            low = np.flatnonzero(has_area & (scores >= cfg.low_score) & (scores < cfg.high_score))
        self._skipped = SkippedDetections(
            self._skipped.non_finite + int(n - finite.sum()),
            self._skipped.no_area + int(finite.sum() - has_area.sum()),
        )

        det_track: dict[int, _Track] = {}  # input row -> track it updates
        confirmed = [t for t in self._tracks if t.state is not _State.TENTATIVE]
        tentative = [t for t in self._tracks if t.state is _State.TENTATIVE]

        # 2: high-score detections against every confirmed track, tracked or lost.
        left_tracks, left_high = self._associate(confirmed, boxes, high, cfg.match_iou_high, det_track)
        # 3: low-score detections against tracks that were tracked until this frame (or also lost ones).
        if cfg.low_score_revives_lost:
            missed, left_low = self._associate(left_tracks, boxes, low, cfg.match_iou_low, det_track)
        else:
            still_tracked = [t for t in left_tracks if t.state is _State.TRACKED]
            missed, left_low = self._associate(still_tracked, boxes, low, cfg.match_iou_low, det_track)
        for track in missed:
            track.state = _State.LOST
        # 4: tentative tracks against the high-score detections left and the weaker ones from
        # `weak_keep_score`; a miss costs one more hit, more than `tentative_misses` drop the track.
        weak_left = left_low[scores[left_low] >= cfg.weak_keep_score]
        candidates = np.sort(np.concatenate([left_high, weak_left]))
        tentative_missed, new_rows = self._associate(
            tentative, boxes, candidates, cfg.match_iou_tentative, det_track, last_box=True
        )
        dropped: set[int] = set()
        for track in tentative_missed:
            track.misses += 1
            track.needs += 1
            if track.misses > cfg.tentative_misses:
                dropped.add(id(track))

        # Correct every matched track with its detection in one batch (steps 2-4 chose from predictions).
        rows = np.fromiter(det_track, np.intp, len(det_track))
        matched = [det_track[r] for r in rows]
        if matched:
            means, covs = self._kalman.update(
                np.stack([t.mean for t in matched]),
                np.stack([t.cov for t in matched]),
                xyxy_to_cxcywh(boxes[rows]),
            )
            for track, mean, cov, row in zip(matched, means, covs, rows, strict=True):
                track.mean, track.cov, track.since_seen_s = mean, cov, 0.0
                track.last_box = boxes[row].astype(np.float64)
                if track.state is _State.TENTATIVE:
                    track.hits += 1
                    if not track.weak and scores[row] < cfg.high_score:
                        # Continued on a weak detection: it must prove itself as a weak start does (the
                        # paper drops it, and a second track started from that detection split the hits).
                        track.weak = True
                        track.needs = max(track.needs, self._weak_needs + track.misses)
                    if track.hits >= track.needs:
                        self._confirm(track)
                else:
                    track.state = _State.TRACKED

        # 5: new tracks from detections nobody claimed: confident ones confirmed after `min_hits`, weak
        # ones (a small or blurred person) only after `weak_start_hits` in a row.
        starters = new_rows[scores[new_rows] >= cfg.weak_start_score]
        if starters.size:
            means, covs = self._kalman.initiate(xyxy_to_cxcywh(boxes[starters]))
            for row, mean, cov in zip(starters, means, covs, strict=True):
                strong_start = bool(scores[row] >= cfg.new_track_score)
                needs = cfg.min_hits if strong_start else self._weak_needs
                track = _Track(
                    mean,
                    cov,
                    _State.TENTATIVE,
                    boxes[row].astype(np.float64),
                    needs=needs,
                    weak=not strong_start,
                )
                if (self._updates == 1 and strong_start) or needs <= 1:
                    self._confirm(track)
                self._tracks.append(track)
                det_track[int(row)] = track

        # 6: end tracks lost for longer than the buffer.
        ended: list[str] = []
        kept: list[_Track] = []
        for track in self._tracks:
            if id(track) in dropped:
                continue
            if track.state is _State.LOST and track.since_seen_s > cfg.lost_buffer_s:
                ended.append(_confirmed_id(track))
                continue
            kept.append(track)
        self._tracks = kept

        ids = tuple(det_track[row].track_id if row in det_track else None for row in range(n))
        return TrackAssignment(track_ids=ids, ended=tuple(ended))

    def predict(self, dt_s: float) -> tuple[npt.NDArray[np.float32], tuple[str, ...]]:
        """Advance by `dt_s` seconds without detections (a frame the pose model skipped).

        Returns float32 [M, 4] pixel (x_min, y_min, x_max, y_max) predicted boxes of the confirmed tracks
        currently tracked (not lost) and their ids, aligned. No track is lost or ended here: nobody looked.
        """
        self._advance(dt_s)
        active = [t for t in self._tracks if t.state is _State.TRACKED]
        if not active:
            return np.zeros((0, 4), np.float32), ()
        boxes = cxcywh_to_xyxy(np.stack([t.mean[:4] for t in active])).astype(np.float32)
        return boxes, tuple(_confirmed_id(t) for t in active)

    def _advance(self, dt_s: float) -> None:
        if not np.isfinite(dt_s) or dt_s < 0:
            raise ValueError(f"dt_s must be a finite number of seconds >= 0, got {dt_s!r}")
        if not self._tracks:
            return
        means = np.stack([t.mean for t in self._tracks])
        covs = np.stack([t.cov for t in self._tracks])
        # A lost person's size is not extrapolated (as in the reference): the box would shrink or grow
        # without evidence while they are out of sight.
        lost = np.array([t.state is _State.LOST for t in self._tracks])
        means[lost, 6:8] = 0.0
        means, covs = self._kalman.predict(means, covs, float(dt_s))
        for track, mean, cov in zip(self._tracks, means, covs, strict=True):
            track.mean, track.cov = mean, cov
            track.since_seen_s += dt_s

    @staticmethod
    def _associate(
        tracks: list[_Track],
        boxes: npt.NDArray[np.float32],
        rows: npt.NDArray[np.intp],
        min_iou: float,
        det_track: dict[int, _Track],
        *,
        last_box: bool = False,
    ) -> tuple[list[_Track], npt.NDArray[np.intp]]:
        """Match `tracks` to the detections `rows` by IoU, record pairs in `det_track`, return leftovers.

        last_box: score each pair by the better IoU of the track's predicted and last seen box.
        """
        if not tracks or rows.size == 0:
            return tracks, rows
        predicted = cxcywh_to_xyxy(np.stack([t.mean[:4] for t in tracks]))
        overlap = iou_matrix(predicted, boxes[rows])
        if last_box:
            overlap = np.maximum(overlap, iou_matrix(np.stack([t.last_box for t in tracks]), boxes[rows]))
        result = match(1.0 - overlap, max_cost=1.0 - min_iou)
        for ti, di in result.pairs:
            det_track[int(rows[di])] = tracks[ti]
        return [tracks[i] for i in result.unmatched_rows], rows[result.unmatched_cols]

    def _confirm(self, track: _Track) -> None:
        live = {t.track_id for t in self._tracks}
        track_id = secrets.token_hex(8)
        while track_id in live:  # 2**-64 per pair; the loop documents that ids are unique, it never spins
            track_id = secrets.token_hex(8)
        track.track_id = track_id
        track.state = _State.TRACKED


def _confirmed_id(track: _Track) -> str:
    if track.track_id is None:  # tracked and lost tracks are confirmed by construction
        raise RuntimeError("a confirmed track has no id")
    return track.track_id


def _check_detections(boxes: npt.NDArray[np.float32], scores: npt.NDArray[np.float32]) -> None:
    if not isinstance(boxes, np.ndarray) or boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must have shape [N, 4], got {list(np.shape(boxes))}")
    if not isinstance(scores, np.ndarray) or scores.shape != (boxes.shape[0],):
        raise ValueError(f"scores must have shape [{boxes.shape[0]}], got {list(np.shape(scores))}")
    if boxes.dtype != np.float32 or scores.dtype != np.float32:
        raise ValueError(f"boxes and scores must be float32, got {boxes.dtype}, {scores.dtype}")
