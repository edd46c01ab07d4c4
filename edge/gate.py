"""The gate (patent claims 14-16): only people with a confident core skeleton are processed."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from anonflow.contract.body import POINT_INDEX
from anonflow.edge.config import GateConfig
from anonflow.edge.pose.types import Poses

L_SHOULDER, R_SHOULDER = POINT_INDEX["left_shoulder"], POINT_INDEX["right_shoulder"]


def passes_gate(poses: Poses, config: GateConfig) -> npt.NDArray[np.bool_]:
    """bool [N]: which people have every required point and enough confident points overall.

    Both shoulders are always required as well: the head cap is measured from the shoulder line, so a
    person without it cannot be cropped safely.
    """
    if len(poses) == 0:
        return np.zeros(0, dtype=bool)
    confident = poses.scores >= config.point_threshold
    required = sorted({POINT_INDEX[name] for name in config.required_points} | {L_SHOULDER, R_SHOULDER})
    has_required = confident[:, required].all(axis=1)
    enough = confident.sum(axis=1) >= config.min_points
    shoulder_width = np.linalg.norm(poses.points[:, L_SHOULDER] - poses.points[:, R_SHOULDER], axis=1)
    wide_enough = shoulder_width >= config.min_shoulder_width
    finite = np.isfinite(poses.points).all(axis=(1, 2))
    result: npt.NDArray[np.bool_] = has_required & enough & wide_enough & finite
    return result
