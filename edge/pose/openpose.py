"""Lightweight OpenPose (human-pose-estimation-0001): bottom-up key points grouped by part-affinity fields.

The network emits, at stride 8, 19 heatmaps (18 OpenPose points + background) and 38 part-affinity field
channels. Decoding finds heatmap peaks, scores every candidate limb by the line integral of its field,
matches limbs greedily and merges them into people. Face points are never searched: only the neck and
the twelve body points have their heatmaps read, and only the twelve body limbs, which run from the
neck outwards, are scored. The neck joins a person's parts but is not emitted.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from anonflow.errors import InputError
from edge.pose.types import Poses

PAF_OUTPUT = "Mconv7_stage2_L1"
HEATMAP_OUTPUT = "Mconv7_stage2_L2"
STRIDE = 8
N_HEATMAPS = 19
N_PAF = 38
LAYOUT = (
    f"input 'data' float32 [1,3,H,W] (H, W multiples of {STRIDE}); outputs '{PAF_OUTPUT}' float32 "
    f"[1,{N_PAF},H/{STRIDE},W/{STRIDE}] (part-affinity fields) and '{HEATMAP_OUTPUT}' float32 "
    f"[1,{N_HEATMAPS},H/{STRIDE},W/{STRIDE}] (18 OpenPose heatmaps + background)"
)

NECK = 1
# OpenPose-18 index of each BODY_POINTS column (l/r shoulder, elbow, wrist, hip, knee, ankle).
BODY_FROM_OPENPOSE: tuple[int, ...] = (5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10)
# Neck plus the body points: the only heatmaps ever searched (nose 0, eyes 14-15, ears 16-17 are not).
SEARCHED_PARTS: tuple[int, ...] = (NECK, *sorted(BODY_FROM_OPENPOSE))
# (from part, to part, PAF x channel; y channel = x + 1), ordered from the neck outwards so every
# limb's first part is already placed in a person when the limb is matched.
BODY_LIMBS: tuple[tuple[int, int, int], ...] = (
    (1, 2, 12),
    (1, 5, 20),
    (2, 3, 14),
    (3, 4, 16),
    (5, 6, 22),
    (6, 7, 24),
    (1, 8, 0),
    (8, 9, 2),
    (9, 10, 4),
    (1, 11, 6),
    (11, 12, 8),
    (12, 13, 10),
)
N_PARTS = 18
# Wider frames are scaled down further rather than fed as a very wide (and slow) input.
MAX_ASPECT = 4


@dataclass(frozen=True, slots=True)
class Peaks:
    """Heatmap peaks of one frame, all parts together.

    part: int64 [P], OpenPose-18 index; xy: float32 [P, 2], sub-cell (x, y) on the heatmap grid;
    score: float32 [P], the heatmap value at the peak cell. Rows are sorted by part, then by score
    descending.
    """

    part: npt.NDArray[np.int64]
    xy: npt.NDArray[np.float32]
    score: npt.NDArray[np.float32]


def find_peaks(
    heatmaps: npt.NDArray[np.float32],
    parts: tuple[int, ...],
    threshold: float,
    max_per_part: int = 64,
) -> Peaks:
    """Local maxima above `threshold` in a 3x3 window on each heatmap in `parts`.

    heatmaps: float32 [K, H, W]. Ties on a plateau go to the first cell in raster order, so a flat
    top yields one peak. Each peak is refined to sub-cell precision by a parabola through its two
    neighbours along each axis, which keeps the stride-8 grid from quantising positions.
    """
    maps = heatmaps[list(parts)]
    h, w = maps.shape[1:]
    padded = np.pad(maps, ((0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    peak = maps > threshold
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == 0 and dx == 0:
                continue
            neighbour = padded[:, 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
            earlier = (dy, dx) < (0, 0)
            peak &= (maps > neighbour) if earlier else (maps >= neighbour)
    channel, y, x = np.nonzero(peak)
    score = maps[channel, y, x]
    part = np.asarray(parts, np.int64)[channel]
    order = np.lexsort((-score, part))
    channel, part, y, x, score = channel[order], part[order], y[order], x[order], score[order]
    if part.size:
        first = np.searchsorted(part, part, side="left")
        keep = (np.arange(part.size) - first) < max_per_part
        channel, part, y, x, score = channel[keep], part[keep], y[keep], x[keep], score[keep]

    left = padded[channel, y + 1, x]
    right = padded[channel, y + 1, x + 2]
    up = padded[channel, y, x + 1]
    down = padded[channel, y + 2, x + 1]
    xy = np.stack([x + _parabola_offset(left, score, right), y + _parabola_offset(up, score, down)], axis=1)
    return Peaks(part, xy.astype(np.float32), score.astype(np.float32))


def _parabola_offset(
    before: npt.NDArray[np.float32], centre: npt.NDArray[np.float32], after: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Offset in [-0.5, 0.5] of the vertex of the parabola through three samples; 0 at the border."""
    inside = np.isfinite(before) & np.isfinite(after)
    b = np.where(inside, before, centre)
    a = np.where(inside, after, centre)
    curvature = b - 2 * centre + a
    with np.errstate(divide="ignore", invalid="ignore"):
        offset = np.where(curvature < 0, 0.5 * (b - a) / curvature, 0.0)
    return np.clip(offset, -0.5, 0.5).astype(np.float32)


def limb_scores(
    a: npt.NDArray[np.float32],
    b: npt.NDArray[np.float32],
    paf_x: npt.NDArray[np.float32],
    paf_y: npt.NDArray[np.float32],
    *,
    samples: int = 10,
    min_alignment: float = 0.05,
    min_ratio: float = 0.8,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """Line-integral score of every candidate limb from a point in `a` to a point in `b`.

    a: float32 [n, 2], b: float32 [m, 2], grid (x, y); paf_x, paf_y: float32 [H, W], the limb's field.
    The field is sampled bilinearly at `samples` points along each segment and projected on its unit
    direction. A limb is valid when more than `min_ratio` of the samples align better than
    `min_alignment` and the mean of those aligned samples is positive. Returns (score [n, m],
    valid [n, m]).
    """
    n, m = len(a), len(b)
    start = np.broadcast_to(a[:, None, :], (n, m, 2)).reshape(-1, 2)
    d = (b[None, :, :] - a[:, None, :]).reshape(-1, 2)
    length = np.linalg.norm(d, axis=-1)
    t = np.linspace(0.0, 1.0, samples, dtype=np.float32)
    need = int(np.floor(min_ratio * samples)) + 1
    # A pair that fails `samples - need + 1` of its samples can never be valid: probe that many spread
    # samples first, so the full integral is taken only for pairs the field plausibly joins.
    probes = np.unique(np.linspace(0, samples - 1, samples - need + 3)[1:-1].round().astype(np.intp))
    hopeful = np.flatnonzero(
        (length > 0) & (_alignment(start, d, t[probes], paf_x, paf_y) > min_alignment).any(axis=1)
    )
    score = np.zeros(n * m, np.float32)
    valid = np.zeros(n * m, bool)
    if hopeful.size:
        alignment = _alignment(start[hopeful], d[hopeful], t, paf_x, paf_y)
        aligned = alignment > min_alignment
        count = aligned.sum(axis=1)
        mean = np.where(aligned, alignment, 0).sum(axis=1) / np.maximum(count, 1)
        score[hopeful] = mean
        valid[hopeful] = (count >= need) & (mean > 0)
    return score.reshape(n, m), valid.reshape(n, m)


def _alignment(
    start: npt.NDArray[np.float32],
    d: npt.NDArray[np.float32],
    t: npt.NDArray[np.float32],
    paf_x: npt.NDArray[np.float32],
    paf_y: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    """Field projected on each segment's unit direction at fractions `t` along it: [P, len(t)]."""
    unit = d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-6)
    pts = start[:, None, :] + t[None, :, None] * d[:, None, :]
    return _bilinear(paf_x, pts) * unit[:, 0:1] + _bilinear(paf_y, pts) * unit[:, 1:2]


def _bilinear(field: npt.NDArray[np.float32], pts: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """`field` [H, W] sampled at float (x, y) `pts` [..., 2], clamped to the grid."""
    h, w = field.shape
    x = np.clip(pts[..., 0], 0, w - 1)
    y = np.clip(pts[..., 1], 0, h - 1)
    x0 = np.minimum(np.floor(x).astype(np.intp), w - 2) if w > 1 else np.zeros(x.shape, np.intp)
    y0 = np.minimum(np.floor(y).astype(np.intp), h - 2) if h > 1 else np.zeros(y.shape, np.intp)
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    fx = x - x0
    fy = y - y0
    top = field[y0, x0] * (1 - fx) + field[y0, x1] * fx
    bottom = field[y1, x0] * (1 - fx) + field[y1, x1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def match_greedy(
    score: npt.NDArray[np.float32], valid: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float32]]:
    """Valid pairs taken best first, each row and each column used at most once.

    Returns (row index [C], column index [C], score [C]) in the order taken.
    """
    rows, cols = np.nonzero(valid)
    order = np.argsort(-score[rows, cols], kind="stable")
    rows, cols = rows[order], cols[order]
    used_r = np.zeros(score.shape[0], bool)
    used_c = np.zeros(score.shape[1], bool)
    limit = min(score.shape)
    taken: list[int] = []
    for i, (r, c) in enumerate(zip(rows.tolist(), cols.tolist(), strict=True)):
        if used_r[r] or used_c[c]:
            continue
        used_r[r] = used_c[c] = True
        taken.append(i)
        if len(taken) == limit:
            break
    pick = np.asarray(taken, np.intp)
    return rows[pick], cols[pick], score[rows[pick], cols[pick]].astype(np.float32)


def group_peaks(
    peaks: Peaks,
    pafs: npt.NDArray[np.float32],
    limbs: tuple[tuple[int, int, int], ...] = BODY_LIMBS,
    min_parts: int = 3,
) -> npt.NDArray[np.intp]:
    """Assign peaks to people along `limbs`.

    pafs: float32 [38, H, W]. Returns int [N, 18]: for each person and OpenPose part, the row in
    `peaks` or -1. People with fewer than `min_parts` parts are dropped; the rest are ordered by
    their summed peak and limb scores, best first.
    """
    owner = np.full(len(peaks.part), -1, np.intp)
    members: list[npt.NDArray[np.intp]] = []
    totals: list[float] = []
    alive: list[bool] = []
    for part_a, part_b, channel in limbs:
        ia = np.flatnonzero(peaks.part == part_a)
        ib = np.flatnonzero(peaks.part == part_b)
        if ia.size == 0 or ib.size == 0:
            continue
        score, valid = limb_scores(peaks.xy[ia], peaks.xy[ib], pafs[channel], pafs[channel + 1])
        rows, cols, limb = match_greedy(score, valid)
        for pa, pb, s in zip(ia[rows].tolist(), ib[cols].tolist(), limb.tolist(), strict=True):
            oa, ob = int(owner[pa]), int(owner[pb])
            if oa < 0 and ob < 0:
                person = np.full(N_PARTS, -1, np.intp)
                person[[part_a, part_b]] = pa, pb
                owner[[pa, pb]] = len(members)
                members.append(person)
                totals.append(float(peaks.score[pa] + peaks.score[pb]) + s)
                alive.append(True)
            elif ob < 0:
                if members[oa][part_b] < 0:
                    members[oa][part_b] = pb
                    owner[pb] = oa
                    totals[oa] += float(peaks.score[pb]) + s
            elif oa < 0:
                if members[ob][part_a] < 0:
                    members[ob][part_a] = pa
                    owner[pa] = ob
                    totals[ob] += float(peaks.score[pa]) + s
            elif oa != ob and not np.any((members[oa] >= 0) & (members[ob] >= 0)):
                taken = members[ob] >= 0
                members[oa][taken] = members[ob][taken]
                owner[members[ob][taken]] = oa
                totals[oa] += totals[ob] + s
                alive[ob] = False
            elif oa == ob:
                totals[oa] += s
    kept = [i for i in range(len(members)) if alive[i] and int((members[i] >= 0).sum()) >= min_parts]
    kept.sort(key=lambda i: -totals[i])
    if not kept:
        return np.zeros((0, N_PARTS), np.intp)
    return np.stack([members[i] for i in kept])


@dataclass(frozen=True, slots=True)
class OpenPoseContext:
    """How a frame was resized into the network input: frame size and resized (unpadded) size."""

    frame_w: int
    frame_h: int
    resized_w: int
    resized_h: int


class OpenPoseDecoder:
    """Pre- and post-processing for human-pose-estimation-0001 (see `edge.pose.types.PoseDecoder`).

    input_height: network input height in pixels, a multiple of 8; the width follows the frame's
        aspect ratio (up to `MAX_ASPECT` times the height). Taller inputs find smaller people, at more cost.
    peak_threshold: minimum heatmap value for a key-point candidate.
    min_parts: minimum parts (neck included) for a person to be kept.
    """

    input_name = "data"
    output_names = (PAF_OUTPUT, HEATMAP_OUTPUT)
    output_ranks = (4, 4)
    layout = LAYOUT

    def __init__(self, input_height: int = 256, peak_threshold: float = 0.1, min_parts: int = 3) -> None:
        if input_height % STRIDE or not 64 <= input_height <= 1024:
            raise InputError(
                f"pose input height must be a multiple of {STRIDE} in [64, 1024], got {input_height}"
            )
        if not 0.0 < peak_threshold < 1.0:
            raise InputError(f"pose peak threshold must be in (0, 1), got {peak_threshold}")
        if not 2 <= min_parts <= len(SEARCHED_PARTS):
            raise InputError(f"pose min_parts must be in [2, {len(SEARCHED_PARTS)}], got {min_parts}")
        self.input_height = input_height
        self.peak_threshold = peak_threshold
        self.min_parts = min_parts

    def prepare(self, frame: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.float32], object]:
        """BGR uint8 [H, W, 3] (checked by the caller) -> float32 [1, 3, H', W'] BGR 0-255.

        The frame is scaled to `input_height` rows (fewer if that would make it wider than
        `MAX_ASPECT` heights) and zero-padded right and bottom to multiples of 8.
        """
        frame_h, frame_w = frame.shape[:2]
        scale = min(self.input_height / frame_h, MAX_ASPECT * self.input_height / frame_w)
        resized_h = max(1, round(frame_h * scale))
        resized_w = max(1, round(frame_w * scale))
        resized = cv2.resize(frame, (resized_w, resized_h), interpolation=cv2.INTER_LINEAR)
        tensor = np.zeros((1, 3, _round_up(resized_h), _round_up(resized_w)), np.float32)
        tensor[0, :, :resized_h, :resized_w] = resized.transpose(2, 0, 1)
        return tensor, OpenPoseContext(frame_w, frame_h, resized_w, resized_h)

    def decode(self, outputs: dict[str, npt.NDArray[np.float32]], context: object) -> Poses:
        if not isinstance(context, OpenPoseContext):
            raise TypeError(f"expected an OpenPoseContext from prepare(), got {type(context).__name__}")
        pafs, heatmaps = self._check(outputs)
        peaks = find_peaks(heatmaps, SEARCHED_PARTS, self.peak_threshold)
        people = group_peaks(peaks, pafs, BODY_LIMBS, self.min_parts)
        if len(people) == 0:
            return Poses.empty()
        rows = people[:, list(BODY_FROM_OPENPOSE)]
        found = rows >= 0
        safe = np.where(found, rows, 0)
        grid = peaks.xy[safe]
        scores = np.where(found, np.clip(peaks.score[safe], 0.0, 1.0), 0.0).astype(np.float32)
        points = self._to_frame(grid, context)
        points[~found] = 0.0
        return Poses(points, scores)

    @staticmethod
    def _to_frame(grid: npt.NDArray[np.float32], ctx: OpenPoseContext) -> npt.NDArray[np.float32]:
        # A heatmap cell g covers input pixels centred on STRIDE*g + STRIDE/2 - 0.5 (the training
        # targets' convention); pixel centres then scale by the resize factor.
        pixel = grid * STRIDE + (STRIDE / 2 - 0.5)
        scale = np.array([ctx.frame_w / ctx.resized_w, ctx.frame_h / ctx.resized_h], np.float32)
        frame = (pixel + 0.5) * scale - 0.5
        frame[..., 0] = np.clip(frame[..., 0], 0, ctx.frame_w - 1)
        frame[..., 1] = np.clip(frame[..., 1], 0, ctx.frame_h - 1)
        return frame.astype(np.float32)

    @staticmethod
    def _check(
        outputs: dict[str, npt.NDArray[np.float32]],
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        pafs = outputs.get(PAF_OUTPUT)
        heatmaps = outputs.get(HEATMAP_OUTPUT)
        if pafs is None or heatmaps is None:
            raise InputError(f"OpenPose outputs {sorted(outputs)} do not match the expected layout: {LAYOUT}")
        if (
            pafs.ndim != 4
            or heatmaps.ndim != 4
            or pafs.shape[:2] != (1, N_PAF)
            or heatmaps.shape[:2] != (1, N_HEATMAPS)
            or pafs.shape[2:] != heatmaps.shape[2:]
        ):
            raise InputError(
                f"OpenPose outputs have shapes {PAF_OUTPUT} {list(pafs.shape)}, {HEATMAP_OUTPUT} "
                f"{list(heatmaps.shape)}; expected layout: {LAYOUT}"
            )
        return pafs[0], heatmaps[0]


def _round_up(n: int) -> int:
    return -(-n // STRIDE) * STRIDE
