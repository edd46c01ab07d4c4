"""The anonymous crop (patent claims 3, 6, 7; para 46-48): torso, limbs and accessories, never the head.

Geometry is pure numpy: a rectangle fitted to the confident body points plus margins, whose top is capped
a configurable fraction of the torso height above the shoulder line, so nothing above that cap is copied
out of the frame. A head is not always above the cap (bowed, bending, sitting, lying, seen from above),
so inside the copy every detected person's head zone (`edge.heads`), the person's own included, is
blanked before anything else reads it. Rendering (copy, masking, resize) is the only step that touches
pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from anonflow.contract.body import POINT_INDEX
from anonflow.edge.config import CropConfig
from anonflow.edge.heads import head_zones
from anonflow.edge.pose.types import Poses

CLASSIFIER_SIZE = (160, 80)  # height, width the attribute networks read
_LS, _RS = POINT_INDEX["left_shoulder"], POINT_INDEX["right_shoulder"]
_LH, _RH = POINT_INDEX["left_hip"], POINT_INDEX["right_hip"]
_ANKLES = [POINT_INDEX["left_ankle"], POINT_INDEX["right_ankle"]]


@dataclass(frozen=True, slots=True)
class CropGeometry:
    """Where each person's anonymous crop lies in the frame.

    boxes: int32 [N, 4] (x0, y0, x1, y1) frame pixels, half-open, clipped to the frame; y0 >= cap_y.
    cap_y: float32 [N] the highest frame row a crop may reach (shoulder line minus head_cap x torso).
    shoulder_y: float32 [N] mean y of the two shoulders.
    torso: float32 [N] torso height in pixels (shoulder line to hip line), the scale of every margin.
    foot: float32 [N, 2] ground point (mid-ankles where seen, else box bottom centre), frame pixels.
    valid: bool [N] False where the shoulder line is unknown (a shoulder unseen, unless the other shoulder and
        the hip below it are seen) or the clipped box is too small (zero-size, off-frame).
    """

    boxes: npt.NDArray[np.int32]
    cap_y: npt.NDArray[np.float32]
    shoulder_y: npt.NDArray[np.float32]
    torso: npt.NDArray[np.float32]
    foot: npt.NDArray[np.float32]
    valid: npt.NDArray[np.bool_]

    def __post_init__(self) -> None:
        n = self.boxes.shape[0]
        if self.boxes.shape != (n, 4):
            raise ValueError(f"boxes must have shape [N, 4], got {list(self.boxes.shape)}")
        for name in ("cap_y", "shoulder_y", "torso", "valid"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name} must have shape [{n}], got {list(getattr(self, name).shape)}")
        if self.foot.shape != (n, 2):
            raise ValueError(f"foot must have shape [{n}, 2], got {list(self.foot.shape)}")

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    @classmethod
    def empty(cls) -> CropGeometry:
        nothing = np.zeros(0, np.float32)
        return cls(
            np.zeros((0, 4), np.int32),
            nothing,
            nothing,
            nothing,
            np.zeros((0, 2), np.float32),
            np.zeros(0, bool),
        )


def fit_crops(
    poses: Poses, frame_shape: tuple[int, ...], config: CropConfig, point_threshold: float
) -> CropGeometry:
    """Fit one head-free crop rectangle per person, for every detected person.

    Rows of people without a measured shoulder line are marked invalid (the cap hangs from it), but their
    head zones still count for masking them out of other people's crops.
    """
    height, width = int(frame_shape[0]), int(frame_shape[1])
    pts, conf = poses.points, poses.scores >= point_threshold
    n = len(poses)
    if n == 0:
        return CropGeometry.empty()
    x, y = pts[..., 0], pts[..., 1]
    shoulders_seen = conf[:, [_LS, _RS]]
    both_shoulders = shoulders_seen.all(axis=1)
    shoulder_y = _mean_seen(y[:, [_LS, _RS]], shoulders_seen, fallback=np.full(n, np.nan, np.float32))
    hips_seen = conf[:, [_LH, _RH]]
    hip_y = _mean_seen(y[:, [_LH, _RH]], hips_seen, fallback=np.full(n, np.nan, np.float32))
    shoulder_w = np.where(both_shoulders, np.abs(x[:, _LS] - x[:, _RS]), np.nan)
    # One scale per person for every margin: the torso height, estimated from what is seen.
    torso = np.where(np.isfinite(hip_y), hip_y - shoulder_y, 1.6 * shoulder_w)
    torso = np.where(np.isfinite(torso), torso, 0.08 * height)
    torso = np.maximum.reduce([torso, np.nan_to_num(0.5 * shoulder_w), np.ones(n, np.float32)])
    side = np.where(both_shoulders, shoulder_w, 0.6 * torso)
    cap_y = shoulder_y - config.head_cap * torso

    x_lo = np.where(conf, x, np.inf).min(axis=1) - config.side_margin * side
    x_hi = np.where(conf, x, -np.inf).max(axis=1) + config.side_margin * side
    y_hi = np.where(conf, y, -np.inf).max(axis=1) + config.bottom_margin * torso
    ankles_seen = conf[:, _ANKLES].any(axis=1)
    legs_guess = np.where(np.isfinite(hip_y), hip_y, shoulder_y + torso) + config.leg_extent * torso
    y_hi = np.where(ankles_seen, y_hi, np.maximum(y_hi, legs_guess))

    with np.errstate(invalid="ignore"):
        x0 = np.clip(np.floor(np.nan_to_num(x_lo, nan=0.0)), 0, width)
        x1 = np.clip(np.ceil(np.nan_to_num(x_hi, nan=0.0)), 0, width)
        # ceil keeps the first copied row at or below the cap even when the cap falls between rows.
        y0 = np.clip(np.ceil(np.nan_to_num(cap_y, nan=float(height))), 0, height)
        y1 = np.clip(np.ceil(np.nan_to_num(y_hi, nan=0.0)), 0, height)
    boxes = np.stack([x0, y0, x1, y1], axis=1).astype(np.int32)
    # A person cut by a side edge keeps one shoulder; with the hip under it the torso height, and so the
    # head cap, is measured, not guessed.
    one_side = conf[:, [_LS, _LH]].all(axis=1) | conf[:, [_RS, _RH]].all(axis=1)
    valid: npt.NDArray[np.bool_] = (
        (both_shoulders | one_side) & (boxes[:, 2] - boxes[:, 0] >= 4) & (boxes[:, 3] - boxes[:, 1] >= 4)
    )

    ankle_seen_both = np.asarray(conf[:, _ANKLES].all(axis=1), bool)
    ankle_mid = pts[:, _ANKLES].mean(axis=1)
    box_bottom = np.stack([(x0 + x1) / 2, y1], axis=1)
    foot = np.where(ankle_seen_both[:, None], ankle_mid, box_bottom)
    return CropGeometry(
        boxes=boxes,
        cap_y=np.nan_to_num(cap_y, nan=float(height)).astype(np.float32),
        shoulder_y=np.nan_to_num(shoulder_y, nan=float(height)).astype(np.float32),
        torso=torso.astype(np.float32),
        foot=np.clip(foot, 0, [width, height]).astype(np.float32),
        valid=valid,
    )


def _mean_seen(
    values: npt.NDArray[np.float32], seen: npt.NDArray[np.bool_], fallback: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    count = seen.sum(axis=1)
    total = np.where(seen, values, 0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean: npt.NDArray[np.float32] = np.where(count > 0, total / np.maximum(count, 1), fallback)
    return mean


def render_crops(
    frame: npt.NDArray[np.uint8],
    geometry: CropGeometry,
    poses: Poses,
    config: CropConfig,
    *,
    which: npt.NDArray[np.intp],
    point_threshold: float,
    heads: npt.NDArray[np.int32] | None = None,
) -> npt.NDArray[np.uint8]:
    """uint8 [M, 160, 80, 3] BGR crops of the people `which` (valid rows of geometry), ready to classify.

    Every detected person's head zone inside a crop is blanked, the person's own included (a bowed,
    bending or lying head, or one seen from above, reaches below the cap); with `mask_others`, so are
    the bodies of people standing in front (lower foot point); with `body_mask`, everything outside the
    body polygon. `heads` is `head_zones(...)` when the caller already has it.
    """
    out = np.empty((len(which), *CLASSIFIER_SIZE, 3), np.uint8)
    if heads is None:
        heads = head_zones(poses, point_threshold, frame.shape)
    for row, i in enumerate(which):
        patch = native_crop(
            frame, geometry, poses, config, int(i), point_threshold=point_threshold, heads=heads
        )
        out[row] = cv2.resize(patch, (CLASSIFIER_SIZE[1], CLASSIFIER_SIZE[0]), interpolation=cv2.INTER_AREA)
    return out


def native_crop(
    frame: npt.NDArray[np.uint8],
    geometry: CropGeometry,
    poses: Poses,
    config: CropConfig,
    person: int,
    *,
    point_threshold: float,
    heads: npt.NDArray[np.int32] | None = None,
) -> npt.NDArray[np.uint8]:
    """uint8 [h, w, 3] BGR: one person's anonymous crop at frame resolution, before the classifier resize.

    A copy of the frame inside the person's box with the same masking as `render_crops`; `heads` is
    `head_zones(...)` when the caller already has it.
    """
    if heads is None:
        heads = head_zones(poses, point_threshold, frame.shape)
    x0, y0, x1, y1 = (int(v) for v in geometry.boxes[person])
    patch = frame[y0:y1, x0:x1].copy()
    for j in range(len(geometry)):
        if j == person:
            continue
        if config.mask_others and geometry.foot[j, 1] > geometry.foot[person, 1]:
            _blank(patch, geometry.boxes[j], x0, y0, config.neutral_value)
    # Every head, own included; the body mask below only ever adds more neutral pixels.
    for j in range(len(geometry)):
        _blank(patch, heads[j], x0, y0, config.neutral_value)
    if config.body_mask:
        seen = poses.scores[person] >= point_threshold
        _keep_body_only(
            patch,
            poses.points[person][seen],
            ox=x0,
            oy=y0,
            torso=float(geometry.torso[person]),
            config=config,
        )
    return patch


def _blank(patch: npt.NDArray[np.uint8], box: npt.NDArray[np.int32], ox: int, oy: int, value: int) -> None:
    h, w = patch.shape[:2]
    bx0, by0 = max(int(box[0]) - ox, 0), max(int(box[1]) - oy, 0)
    bx1, by1 = min(int(box[2]) - ox, w), min(int(box[3]) - oy, h)
    if bx1 > bx0 and by1 > by0:
        patch[by0:by1, bx0:bx1] = value


def _keep_body_only(
    patch: npt.NDArray[np.uint8],
    points: npt.NDArray[np.float32],
    *,
    ox: int,
    oy: int,
    torso: float,
    config: CropConfig,
) -> None:
    seen = points - np.array([ox, oy], np.float32)
    if len(seen) < 3:
        return
    mask = np.zeros(patch.shape[:2], np.uint8)
    hull = cv2.convexHull(seen.astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 255)
    grow = max(int(0.35 * torso), 1)
    grown = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    patch[grown == 0] = config.neutral_value
