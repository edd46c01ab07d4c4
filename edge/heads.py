"""Head zones: where each detected person's head is, in any pose and view, so every crop can blank it.

Head evidence (`Poses.head_points`: nose, eyes, ears, neck) places the zone where the pose network saw the
face; a geometric zone from the shoulders and the body axis is always included, so a head the evidence
misplaces (bowed below the shoulders) is still covered. Both are
sized from the body (torso length or shoulder width, whichever is larger, so a torso foreshortened by an
overhead camera still gives a head-sized zone). The evidence is read here and nowhere else; the zones are
rectangles in frame pixels and are never emitted or stored.

Fallback geometry, per person (s = body scale, u = unit vector from the hip midpoint to the shoulder
midpoint, image-up when hips are unseen): the head centre lies near shoulder_mid + 0.55 s u; the zone is
the bounding box of squares of half-size 0.45 s around that point and around the shoulder midpoint, so
it covers an upright head, a head bowed forward below the shoulder line, a person bending or lying (u
follows the body), and the head seen from above (at the shoulder midpoint).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from anonflow.contract.body import POINT_INDEX
from anonflow.edge.pose.types import HEAD_POINTS, Poses

_SHOULDERS = [POINT_INDEX["left_shoulder"], POINT_INDEX["right_shoulder"]]
_HIPS = [POINT_INDEX["left_hip"], POINT_INDEX["right_hip"]]
_FACE = [HEAD_POINTS.index(p) for p in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")]
_NECK = HEAD_POINTS.index("neck")
# Half-size of a head-sized square, in body scales (a head is about 0.35 torso lengths tall; the rest
# is margin for hair, hats and pose error).
HEAD_HALF: Final = 0.45
# Where the head centre lies beyond the shoulder midpoint along the body axis, in body scales.
HEAD_OFFSET: Final = 0.55
# Around seen face points the zone reaches this many body scales further (the face points sit inside
# the head; the crown, the chin and the back of the head lie beyond them).
FACE_MARGIN: Final = 0.35
# The body scale when nothing else gives one, as a fraction of the frame height.
FALLBACK_SCALE: Final = 0.08


def head_zones(poses: Poses, point_threshold: float, frame_shape: tuple[int, ...]) -> npt.NDArray[np.int32]:
    """int32 [N, 4] (x0, y0, x1, y1) frame pixels, half-open: one head zone per detected person.

    Every person gets a zone, with or without shoulders; a person with no seen point at all gets a
    zero-size one (nothing tells where they are). Zones are not clipped to the frame (callers clip).
    """
    n = len(poses)
    zones = np.zeros((n, 4), np.float64)
    for i in range(n):
        zones[i] = _zone(poses, i, point_threshold, float(frame_shape[0]))
    return np.stack(
        [np.floor(zones[:, 0]), np.floor(zones[:, 1]), np.ceil(zones[:, 2]), np.ceil(zones[:, 3])], axis=1
    ).astype(np.int32)


def _zone(poses: Poses, i: int, threshold: float, frame_h: float) -> npt.NDArray[np.float64]:
    body, body_seen = poses.points[i].astype(np.float64), poses.scores[i] >= threshold
    head, head_seen = poses.head[i].astype(np.float64), poses.head_confidence[i] >= threshold
    shoulders = body[_SHOULDERS][body_seen[_SHOULDERS]]
    hips = body[_HIPS][body_seen[_HIPS]]
    face = head[_FACE][head_seen[_FACE]]
    scale = _scale(shoulders, hips, face, body[body_seen], frame_h)
    fallback = _geometric_zone(
        body=body,
        body_seen=body_seen,
        shoulders=shoulders,
        hips=hips,
        head=head,
        head_seen=head_seen,
        scale=scale,
    )
    if not len(face):
        return fallback
    # Evidence: the face points, grown to a whole head, joined to the neck/shoulders below it, and never
    # smaller than the geometric zone: face points place a turned or lying head, the geometry still
    # covers a head bowed below the shoulders, whose face points the network may place elsewhere.
    reach = FACE_MARGIN * scale + 0.5 * _spread(face)
    lo, hi = face.min(axis=0) - reach, face.max(axis=0) + reach
    anchor = _anchor(shoulders, head, head_seen)
    if anchor is not None:
        lo, hi = np.minimum(lo, anchor - 0.1 * scale), np.maximum(hi, anchor + 0.1 * scale)
    if fallback[2] > fallback[0] and fallback[3] > fallback[1]:
        lo, hi = np.minimum(lo, fallback[:2]), np.maximum(hi, fallback[2:])
    return np.concatenate([lo, hi])


def _geometric_zone(
    *,
    body: npt.NDArray[np.float64],
    body_seen: npt.NDArray[np.bool_],
    shoulders: npt.NDArray[np.float64],
    hips: npt.NDArray[np.float64],
    head: npt.NDArray[np.float64],
    head_seen: npt.NDArray[np.bool_],
    scale: float,
) -> npt.NDArray[np.float64]:
    """The zone from the shoulders and the body axis alone (see the module docstring)."""
    anchor = _anchor(shoulders, head, head_seen)
    if anchor is None:
        seen = body[body_seen]
        if not len(seen):
            return np.zeros(4)
        # Neither shoulders nor head seen (legs, hips, an arm): assume upright and cover the body's
        # height above the topmost seen point (a standing person is about 4 shin lengths tall).
        top_y, mid_x = float(seen[:, 1].min()), float(seen[:, 0].mean())
        reach = max(3.0 * _spread(seen), 1.6 * scale)
        half_w = max(_spread(seen), scale)
        return np.array([mid_x - half_w, top_y - reach, mid_x + half_w, top_y + 0.2 * scale])
    axis = np.array([0.0, -1.0])
    if len(hips) and len(shoulders):
        towards = shoulders.mean(axis=0) - hips.mean(axis=0)
        length = float(np.hypot(*towards))
        if length > 0.25 * scale:
            axis = towards / length
    centre = anchor + HEAD_OFFSET * scale * axis
    half = HEAD_HALF * scale
    # One shoulder only: the head may lie to either side of it.
    half_x = half + (0.5 * scale if len(shoulders) == 1 and not head_seen[_NECK] else 0.0)
    lo = np.minimum(centre, anchor) - np.array([half_x, half])
    hi = np.maximum(centre, anchor) + np.array([half_x, half])
    return np.concatenate([lo, hi])


def _anchor(
    shoulders: npt.NDArray[np.float64], head: npt.NDArray[np.float64], head_seen: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64] | None:
    """Where the neck meets the shoulders: the neck point if seen, else the shoulders' midpoint."""
    if head_seen[_NECK]:
        return head[_NECK]
    if len(shoulders):
        return shoulders.mean(axis=0)
    return None


def _scale(
    shoulders: npt.NDArray[np.float64],
    hips: npt.NDArray[np.float64],
    face: npt.NDArray[np.float64],
    seen: npt.NDArray[np.float64],
    frame_h: float,
) -> float:
    """The body scale in pixels: the torso length or 1.1 shoulder widths, whichever is larger; else the
    face points' spread, the seen body's extent, or a fraction of the frame."""
    candidates = []
    if len(shoulders) and len(hips):
        candidates.append(float(np.hypot(*(shoulders.mean(axis=0) - hips.mean(axis=0)))))
    if len(shoulders) == 2:
        candidates.append(1.1 * float(np.hypot(*(shoulders[0] - shoulders[1]))))
    if len(face) >= 2:
        candidates.append(2.5 * _spread(face))
    if candidates and max(candidates) >= 2.0:
        return max(candidates)
    if len(seen) >= 2:
        return max(0.3 * _spread(seen), FALLBACK_SCALE * frame_h * 0.25, 2.0)
    return FALLBACK_SCALE * frame_h


def _spread(points: npt.NDArray[np.float64]) -> float:
    return float(np.max(points.max(axis=0) - points.min(axis=0)))
