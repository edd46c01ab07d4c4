"""Key-point agreement between a reference pose model and a candidate: PTK and EPE.

Definitions (per frame, then summed over frames):

- A *reference point* is a body point (one of the twelve) of a reference person with score >= the point
  threshold.
- A person's *scale* is their torso height: the distance from the shoulder midpoint to the hip midpoint,
  each midpoint taken over the confident points of its pair (one side alone is enough). A reference
  person without a confident shoulder or hip has no scale; their points are counted as `unscaled` and
  left out of PTK and EPE (they are too partial to judge).
- People are paired one-to-one (Hungarian assignment) by the median distance, in torso heights, over
  the points confident in both; a pair is accepted below `match_limit` torso heights. (An unscaled
  reference person is paired using half the diagonal of their points' box as scale, so that their
  candidate counterpart is not counted as extra; the pair adds nothing to PTK or EPE, only to `extra_points`.)
- A reference point is *kept* when the paired candidate has the same point confidently within
  `tolerance` x the reference person's torso height. PTK (percentage of total key points kept) is
  100 x kept / scaled reference points: a missed person loses all their points.
- EPE (end-point error) is the mean distance in frame pixels between the two models' positions of a
  point, over the points confident in both members of a pair.
- `extra_points` counts candidate points with no confident reference counterpart (unpaired candidate
  people, or a point the reference did not see): hallucinations do not lower PTK, so they are reported.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from anonflow.contract.body import POINT_INDEX
from anonflow.edge.pose.types import Poses

_SHOULDERS = [POINT_INDEX["left_shoulder"], POINT_INDEX["right_shoulder"]]
_HIPS = [POINT_INDEX["left_hip"], POINT_INDEX["right_hip"]]
_NO_MATCH = 1e9


@dataclass(frozen=True, slots=True)
class KeypointAgreement:
    """Counts behind PTK and EPE; add two with `+` to pool frames."""

    reference_points: int = 0
    kept_points: int = 0
    unscaled_points: int = 0
    extra_points: int = 0
    error_sum_px: float = 0.0
    error_count: int = 0
    reference_people: int = 0
    candidate_people: int = 0
    matched_people: int = 0
    frames: int = 0

    def __add__(self, other: KeypointAgreement) -> KeypointAgreement:
        return KeypointAgreement(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def ptk(self) -> float:
        """Percentage of scaled reference points kept (nan when there were none)."""
        return 100.0 * self.kept_points / self.reference_points if self.reference_points else float("nan")

    @property
    def epe_px(self) -> float:
        """Mean end-point error in pixels over points both models found (nan when none)."""
        return self.error_sum_px / self.error_count if self.error_count else float("nan")

    def as_dict(self) -> dict[str, float | int]:
        raw = {f.name: getattr(self, f.name) for f in fields(self)}
        return {**raw, "error_sum_px": round(self.error_sum_px, 3), "ptk": self.ptk, "epe_px": self.epe_px}


def torso_heights(poses: Poses, point_threshold: float) -> npt.NDArray[np.float32]:
    """float32 [N]: shoulder-midpoint to hip-midpoint distance; nan without a confident shoulder or hip."""
    conf = poses.scores >= point_threshold
    mids = []
    for pair in (_SHOULDERS, _HIPS):
        seen = conf[:, pair]
        total = np.where(seen[..., None], poses.points[:, pair], 0.0).sum(axis=1)
        count = seen.sum(axis=1)[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            mids.append(np.where(count > 0, total / np.maximum(count, 1), np.nan))
    height = np.linalg.norm(mids[0] - mids[1], axis=1)
    return np.where(height > 0, height, np.nan).astype(np.float32)


def compare(
    reference: Poses,
    candidate: Poses,
    tolerance: float = 0.2,
    point_threshold: float = 0.2,
    match_limit: float = 1.0,
) -> KeypointAgreement:
    """Agreement of `candidate` with `reference` on one frame (both in the same frame's pixels)."""
    if tolerance <= 0 or match_limit <= 0:
        raise ValueError(f"tolerance and match_limit must be positive, got {tolerance}, {match_limit}")
    ref_conf = reference.scores >= point_threshold
    cand_conf = candidate.scores >= point_threshold
    scale = torso_heights(reference, point_threshold)
    scaled = np.isfinite(scale)
    # dist[i, j, k]: pixels between reference person i and candidate j at point k.
    dist = np.linalg.norm(reference.points[:, None] - candidate.points[None], axis=-1)
    both = ref_conf[:, None] & cand_conf[None]
    rows, cols = _pair(dist, both, np.where(scaled, scale, _rough_scale(reference, ref_conf)), match_limit)

    kept = 0
    errors = np.zeros(0, np.float32)
    paired_cand = np.zeros(len(candidate), bool)
    extra = 0
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        paired_cand[j] = True
        extra += int((cand_conf[j] & ~ref_conf[i]).sum())
        if not scaled[i]:
            continue
        common = both[i, j]
        kept += int((common & (dist[i, j] <= tolerance * scale[i])).sum())
        errors = np.concatenate([errors, dist[i, j][common]])
    extra += int(cand_conf[~paired_cand].sum())
    return KeypointAgreement(
        reference_points=int(ref_conf[scaled].sum()),
        kept_points=kept,
        unscaled_points=int(ref_conf[~scaled].sum()),
        extra_points=extra,
        error_sum_px=float(errors.sum()),
        error_count=int(errors.size),
        reference_people=len(reference),
        candidate_people=len(candidate),
        matched_people=int(scaled[rows].sum()),
        frames=1,
    )


def _rough_scale(poses: Poses, conf: npt.NDArray[np.bool_]) -> npt.NDArray[np.float32]:
    """Half the diagonal of each person's confident points' box; nan with fewer than two points."""
    lo = np.where(conf[..., None], poses.points, np.inf).min(axis=1)
    hi = np.where(conf[..., None], poses.points, -np.inf).max(axis=1)
    with np.errstate(invalid="ignore"):
        diag = 0.5 * np.linalg.norm(hi - lo, axis=1)
    return np.where(np.isfinite(diag) & (diag > 0), diag, np.nan).astype(np.float32)


def _pair(
    dist: npt.NDArray[np.float32],
    both: npt.NDArray[np.bool_],
    scale: npt.NDArray[np.float32],
    match_limit: float,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """One-to-one pairs (scaled reference row, candidate column) with median distance below the limit."""
    n, m = both.shape[:2]
    if n == 0 or m == 0:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-nan rows: people with no common point
        median = np.nanmedian(np.where(both, dist, np.nan), axis=2) / scale[:, None]
    cost = np.where(np.isfinite(median), median, _NO_MATCH)
    rows, cols = linear_sum_assignment(cost)
    good = cost[rows, cols] < match_limit
    return rows[good].astype(np.intp), cols[good].astype(np.intp)
