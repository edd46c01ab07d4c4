"""Lightweight OpenPose (human-pose-estimation-0001): bottom-up key points grouped by part-affinity fields.

The network emits, at stride 8, 19 heatmaps (18 OpenPose points + background) and 38 part-affinity field
channels. Decoding finds heatmap peaks, scores every candidate limb by the line integral of its field,
matches limbs greedily and merges them into people. People are grouped from the neck and the twelve
body points along the twelve body limbs only, so head points never join or split a person. Then the
head parts (nose, eyes, ears) are attached to the people found, along the neck-nose, nose-eye, eye-ear
and shoulder-ear fields: with the neck they are head evidence that places each person's head zone inside
the edge (`edge.heads`) and are never emitted or stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt

from anonflow.contract.errors import InputError
from anonflow.edge.pose.types import HEAD_POINTS, N_HEAD, Poses

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
_NECK_COLUMN = HEAD_POINTS.index("neck")
# OpenPose-18 index of each BODY_POINTS column (l/r shoulder, elbow, wrist, hip, knee, ankle).
BODY_FROM_OPENPOSE: tuple[int, ...] = (5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10)
# Neck plus the body points: the heatmaps people are grouped from (head parts are attached afterwards).
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
# Head parts (OpenPose-18 index -> HEAD_POINTS column): searched only to place head zones.
HEAD_COLUMN_OF_PART: dict[int, int] = {
    0: HEAD_POINTS.index("nose"),
    14: HEAD_POINTS.index("right_eye"),
    15: HEAD_POINTS.index("left_eye"),
    16: HEAD_POINTS.index("right_ear"),
    17: HEAD_POINTS.index("left_ear"),
}
HEAD_PARTS: tuple[int, ...] = tuple(sorted(HEAD_COLUMN_OF_PART))
# (from part, to part, PAF x channel), in stages from the neck outwards: each stage's limbs start at parts
# placed before it and end at distinct parts. The shoulder-ear fields find an ear when the face is turned
# away or bowed and no nose or eye is seen.
HEAD_LIMB_STAGES: tuple[tuple[tuple[int, int, int], ...], ...] = (
    ((1, 0, 28), (2, 16, 18), (5, 17, 26)),
    ((0, 14, 30), (0, 15, 32)),
    ((14, 16, 34), (15, 17, 36)),
)
# Wider frames are scaled down further rather than fed as a very wide (and slow) input.
MAX_ASPECT = 4
# Above this many candidate limbs in a frame (crowds), limbs are probed at a few samples before the full
# line integral; below, one pass over every sample is quicker.
PROBE_ABOVE_PAIRS = 256


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
    k, h, w = maps.shape
    padded = np.full((k, h + 2, w + 2), -np.inf, maps.dtype)
    padded[:, 1:-1, 1:-1] = maps
    # Only cells above the threshold are compared with their 3x3 neighbours, gathered in raster order:
    # the four earlier ones must be strictly lower so a plateau keeps its first cell only. (Flat indices:
    # a multi-dimensional nonzero costs ten times more.)
    channel, cell = np.divmod(np.flatnonzero(maps > threshold), h * w)
    y, x = np.divmod(cell, w)
    stride = w + 2
    around = np.array([-stride - 1, -stride, -stride + 1, -1, 1, stride - 1, stride, stride + 1])
    neighbour = padded.reshape(-1)[((channel * (h + 2) + y + 1) * stride + x + 1)[:, None] + around]
    score = maps.reshape(-1)[(channel * h + y) * w + x]
    centre = score[:, None]
    rows = np.flatnonzero((centre > neighbour[:, :4]).all(axis=1) & (centre >= neighbour[:, 4:]).all(axis=1))
    part = np.asarray(parts, np.int64)[channel[rows]]
    order = np.lexsort((-score[rows], part))
    rows, part = rows[order], part[order]
    if part.size:
        first = np.searchsorted(part, part, side="left")
        keep = (np.arange(part.size) - first) < max_per_part
        rows, part = rows[keep], part[keep]

    x, y, score, neighbour = x[rows], y[rows], score[rows], neighbour[rows]
    before = np.stack([neighbour[:, 3], neighbour[:, 1]], axis=1)  # left, up
    after = np.stack([neighbour[:, 4], neighbour[:, 6]], axis=1)  # right, down
    xy = np.stack([x, y], axis=1) + _parabola_offset(before, score[:, None], after)
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
    Returns (score [n, m], valid [n, m]); see `segment_scores`.
    """
    n, m = len(a), len(b)
    start = np.broadcast_to(a[:, None, :], (n, m, 2)).reshape(-1, 2)
    d = (b[None, :, :] - a[:, None, :]).reshape(-1, 2)
    score, valid = segment_scores(
        start,
        d,
        np.zeros(n * m, np.intp),
        np.stack([paf_x, paf_y]),
        samples=samples,
        min_alignment=min_alignment,
        min_ratio=min_ratio,
    )
    return score.reshape(n, m), valid.reshape(n, m)


def segment_scores(
    start: npt.NDArray[np.float32],
    d: npt.NDArray[np.float32],
    channel: npt.NDArray[np.intp],
    pafs: npt.NDArray[np.float32],
    *,
    samples: int = 10,
    min_alignment: float = 0.05,
    min_ratio: float = 0.8,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """Line-integral score of candidate limbs of any types at once, each on its own field.

    start, d: float32 [C, 2], each segment's start and its vector to the end, grid (x, y); channel:
    int [C], the x channel of each segment's field in `pafs` (y is the next channel); pafs: float32
    [K, H, W]. The field is sampled bilinearly at `samples` points along each segment and projected on
    its unit direction. A limb is valid when more than `min_ratio` of the samples align better than
    `min_alignment` and the mean of those aligned samples is positive. Returns (score [C], valid [C]).
    """
    t, probes, need = _sampling(samples, min_ratio)
    field = np.ascontiguousarray(pafs, np.float32)
    hopeful = np.linalg.norm(d, axis=-1) > 0
    # A pair that fails `samples - need + 1` of its samples can never be valid. With many pairs, that
    # many spread samples are probed first, so the full integral is taken only for pairs the field
    # plausibly joins; with few, one pass over every sample costs less than two.
    if len(d) > PROBE_ABOVE_PAIRS:
        hopeful &= (_alignment(start, d, t[probes], channel, field) > min_alignment).any(axis=1)
    score = np.zeros(len(d), np.float32)
    valid = np.zeros(len(d), bool)
    rows = np.flatnonzero(hopeful)
    if rows.size:
        alignment = _alignment(start[rows], d[rows], t, channel[rows], field)
        aligned = alignment > min_alignment
        count = aligned.sum(axis=1)
        mean = np.where(aligned, alignment, 0).sum(axis=1) / np.maximum(count, 1)
        # Pairs failing every probe score 0 and are invalid either way.
        probed = aligned[:, probes].any(axis=1)
        score[rows] = np.where(probed, mean, 0)
        valid[rows] = probed & (count >= need) & (mean > 0)
    return score, valid


@lru_cache(maxsize=8)
def _sampling(samples: int, min_ratio: float) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.intp], int]:
    """Sample fractions along a segment, the samples probed first, and the aligned count needed."""
    t = np.linspace(0.0, 1.0, samples, dtype=np.float32)
    need = int(np.floor(min_ratio * samples)) + 1
    probes = np.unique(np.linspace(0, samples - 1, samples - need + 3)[1:-1].round().astype(np.intp))
    t.flags.writeable = probes.flags.writeable = False
    return t, probes, need


def _alignment(
    start: npt.NDArray[np.float32],
    d: npt.NDArray[np.float32],
    t: npt.NDArray[np.float32],
    channel: npt.NDArray[np.intp],
    pafs: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    """Field projected on each segment's unit direction at fractions `t` along it: [C, len(t)].

    The field is sampled bilinearly, clamped to the grid: the four corners of every sample in both
    channels are gathered from the flattened `pafs` (C-contiguous [K, H, W]) at once.
    """
    _, h, w = pafs.shape
    unit = d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-6)
    pts = start[:, None, :] + t[None, :, None] * d[:, None, :]
    x = np.clip(pts[..., 0], 0, w - 1)
    y = np.clip(pts[..., 1], 0, h - 1)
    x0 = np.minimum(np.floor(x).astype(np.intp), w - 2) if w > 1 else np.zeros(x.shape, np.intp)
    y0 = np.minimum(np.floor(y).astype(np.intp), h - 2) if h > 1 else np.zeros(y.shape, np.intp)
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    # float32 coordinates minus integer corners: the weights, and so the blend, are float64.
    fx = (x - x0)[..., None]
    fy = (y - y0)[..., None]
    row0 = channel[:, None] * (h * w) + y0 * w
    row1 = row0 + (y1 - y0) * w
    # [4 corners, C, T, 2 channels]: top-left, top-right, bottom-left, bottom-right.
    corner = pafs.reshape(-1)[np.stack([row0 + x0, row0 + x1, row1 + x0, row1 + x1])[..., None] + (0, h * w)]
    top = corner[0] * (1 - fx) + corner[1] * fx
    bottom = corner[2] * (1 - fx) + corner[3] * fx
    field = (top * (1 - fy) + bottom * fy).astype(np.float32)
    return field[..., 0] * unit[:, 0:1] + field[..., 1] * unit[:, 1:2]


def match_greedy(
    score: npt.NDArray[np.float32], valid: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float32]]:
    """Valid pairs taken best first, each row and each column used at most once.

    Returns (row index [C], column index [C], score [C]) in the order taken.
    """
    rows, cols = np.nonzero(valid)
    pair_score = score[rows, cols].astype(np.float32)
    pick = _match_greedy(np.zeros(rows.size, np.intp), rows, cols, pair_score, np.ones(rows.size, bool))
    return rows[pick], cols[pick], pair_score[pick]


def _match_greedy(
    group: npt.NDArray[np.intp],
    a: npt.NDArray[np.intp],
    b: npt.NDArray[np.intp],
    score: npt.NDArray[np.float32],
    valid: npt.NDArray[np.bool_],
) -> npt.NDArray[np.intp]:
    """Greedy matching within each group of candidate pairs: best score first, each `a` and each `b`
    used at most once per group, ties to the earlier candidate. Returns the indices of the pairs taken,
    by group, then in the order taken.
    """
    idx = np.flatnonzero(valid)
    if idx.size == 0:
        return idx
    idx = idx[np.lexsort((-score[idx], group[idx]))]
    span = int(max(a[idx].max(), b[idx].max())) + 1
    used_a: set[int] = set()
    used_b: set[int] = set()
    taken: list[int] = []
    key_a = (group[idx] * span + a[idx]).tolist()
    key_b = (group[idx] * span + b[idx]).tolist()
    for i, ka, kb in zip(idx.tolist(), key_a, key_b, strict=True):
        if ka in used_a or kb in used_b:
            continue
        used_a.add(ka)
        used_b.add(kb)
        taken.append(i)
    return np.asarray(taken, np.intp)


def candidate_limbs(
    part: npt.NDArray[np.int64], limbs: tuple[tuple[int, int, int], ...]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Every candidate limb: each peak of a limb's first part with each peak of its second part.

    part: int [P], the part of each peak. Returns (limb index [C], first peak row [C], second peak row
    [C]), ordered by limb, then first row, then second row.
    """
    spec = np.asarray(limbs, np.intp).reshape(-1, 3)
    order = np.argsort(part, kind="stable")
    counts = np.bincount(part, minlength=int(spec[:, :2].max(initial=-1)) + 1)
    first = np.cumsum(counts) - counts
    n_a, n_b = counts[spec[:, 0]], counts[spec[:, 1]]
    per_limb = n_a * n_b
    limb = np.repeat(np.arange(len(spec)), per_limb)
    local = np.arange(limb.size) - np.repeat(np.cumsum(per_limb) - per_limb, per_limb)
    n_b_pair = n_b[limb]
    rows_a = order[first[spec[limb, 0]] + local // n_b_pair]
    rows_b = order[first[spec[limb, 1]] + local % n_b_pair]
    return limb, rows_a, rows_b


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

    Every candidate limb of every type is scored in one pass and matched greedily per type; the limbs
    taken are then joined into people in `limbs` order.
    """
    limb, rows_a, rows_b = candidate_limbs(peaks.part, limbs)
    spec = np.asarray(limbs, np.intp).reshape(-1, 3)
    start = peaks.xy[rows_a]
    score, valid = segment_scores(start, peaks.xy[rows_b] - start, spec[limb, 2], pafs)
    pick = _match_greedy(limb, rows_a, rows_b, score, valid)
    limb, rows_a, rows_b = limb[pick], rows_a[pick], rows_b[pick]
    # Peak scores are summed in float32 before joining the float64 totals, as the ordering expects.
    first_score, second_score = peaks.score[rows_a], peaks.score[rows_b]
    connections = zip(
        spec[limb, 0].tolist(),
        spec[limb, 1].tolist(),
        rows_a.tolist(),
        rows_b.tolist(),
        score[pick].tolist(),
        first_score.tolist(),
        second_score.tolist(),
        (first_score + second_score).tolist(),
        strict=True,
    )
    owner = [-1] * len(peaks.part)
    members: list[list[int]] = []
    totals: list[float] = []
    alive: list[bool] = []
    for part_a, part_b, pa, pb, s, score_a, score_b, both in connections:
        oa, ob = owner[pa], owner[pb]
        if oa < 0 and ob < 0:
            person = [-1] * N_PARTS
            person[part_a], person[part_b] = pa, pb
            owner[pa] = owner[pb] = len(members)
            members.append(person)
            totals.append(both + s)
            alive.append(True)
        elif ob < 0:
            if members[oa][part_b] < 0:
                members[oa][part_b] = pb
                owner[pb] = oa
                totals[oa] += score_b + s
        elif oa < 0:
            if members[ob][part_a] < 0:
                members[ob][part_a] = pa
                owner[pa] = ob
                totals[ob] += score_a + s
        elif oa != ob and not any(i >= 0 and j >= 0 for i, j in zip(members[oa], members[ob], strict=True)):
            for part, row in enumerate(members[ob]):
                if row >= 0:
                    members[oa][part] = row
                    owner[row] = oa
            totals[oa] += totals[ob] + s
            alive[ob] = False
        elif oa == ob:
            totals[oa] += s
    kept = [i for i, person in enumerate(members) if alive[i] and sum(r >= 0 for r in person) >= min_parts]
    kept.sort(key=lambda i: -totals[i])
    return np.array([members[i] for i in kept], np.intp).reshape(-1, N_PARTS)


def attach_head_parts(
    people: npt.NDArray[np.intp], body: Peaks, head: Peaks, pafs: npt.NDArray[np.float32]
) -> npt.NDArray[np.intp]:
    """Attach head peaks to the people grouped from body peaks, stage by stage (`HEAD_LIMB_STAGES`).

    people: int [N, 18], rows in `body` (see `group_peaks`); head: the peaks of `HEAD_PARTS`. Returns
    int [N, 18]: for each person and head part, the row in `head` or -1 (other columns -1). Each head peak
    goes to one person at most and each person gets one peak per part, best-scored limb first. All limbs
    of a stage are scored in one pass.
    """
    attached = np.full((len(people), N_PARTS), -1, np.intp)
    for stage in HEAD_LIMB_STAGES:
        limbs, persons, peaks, starts = [], [], [], []
        for index, (part_a, part_b, _) in enumerate(stage):
            rows_a = people[:, part_a] if part_a not in HEAD_COLUMN_OF_PART else attached[:, part_a]
            who = np.flatnonzero((rows_a >= 0) & (attached[:, part_b] < 0))
            free = np.flatnonzero(head.part == part_b)
            if who.size == 0 or free.size == 0:
                continue
            source = body if part_a not in HEAD_COLUMN_OF_PART else head
            limbs.append(np.full(who.size * free.size, index, np.intp))
            persons.append(np.repeat(who, free.size))
            peaks.append(np.tile(free, who.size))
            starts.append(source.xy[rows_a[persons[-1]]])
        if not limbs:
            continue
        limb: npt.NDArray[np.intp] = np.concatenate(limbs)
        person: npt.NDArray[np.intp] = np.concatenate(persons)
        peak: npt.NDArray[np.intp] = np.concatenate(peaks)
        start: npt.NDArray[np.float32] = np.concatenate(starts)
        channel = np.asarray([c for _, _, c in stage], np.intp)[limb]
        score, valid = segment_scores(start, head.xy[peak] - start, channel, pafs)
        # Limbs of a stage end at distinct parts, so a peak is matched within its limb's group only.
        pick = _match_greedy(limb, person, peak, score, valid)
        ends = np.asarray([b for _, b, _ in stage], np.intp)[limb[pick]]
        attached[person[pick], ends] = peak[pick]
    return attached


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
        head_points = np.zeros((len(people), N_HEAD, 2), np.float32)
        head_scores = np.zeros((len(people), N_HEAD), np.float32)
        neck = people[:, NECK]
        has_neck = neck >= 0
        head_points[:, _NECK_COLUMN] = np.where(
            has_neck[:, None], self._to_frame(peaks.xy[np.where(has_neck, neck, 0)], context), 0.0
        )
        head_scores[:, _NECK_COLUMN] = np.where(
            has_neck, np.clip(peaks.score[np.where(has_neck, neck, 0)], 0, 1), 0
        )
        head_peaks = find_peaks(heatmaps, HEAD_PARTS, self.peak_threshold)
        attached = attach_head_parts(people, peaks, head_peaks, pafs)
        for part, column in HEAD_COLUMN_OF_PART.items():
            row = attached[:, part]
            seen = row >= 0
            if seen.any():
                safe_row = np.where(seen, row, 0)
                head_points[:, column] = np.where(
                    seen[:, None], self._to_frame(head_peaks.xy[safe_row], context), 0.0
                )
                head_scores[:, column] = np.where(seen, np.clip(head_peaks.score[safe_row], 0, 1), 0)
        return Poses(points, scores, head_points, head_scores)

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
