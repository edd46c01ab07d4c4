"""The gate (patent claims 14-16): only people with a confident core skeleton are processed.

Two ways through, both needing the shoulder line the head cap hangs from:
- whole: every required point (by default shoulders and hips) and `min_points` confident points;
- cut off (`accept_cut_off`): the frame or something in it hides the hips and legs (bottom edge, a
  counter, a close camera) and both shoulders are confident at `cut_off_shoulder_threshold`; or a side
  edge cuts the person, leaving one shoulder and the hip below it, close to that edge.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from anonflow.contract.body import POINT_INDEX
from anonflow.edge.config import GateConfig
from anonflow.edge.pose.types import Poses

L_SHOULDER, R_SHOULDER = POINT_INDEX["left_shoulder"], POINT_INDEX["right_shoulder"]
L_HIP, R_HIP = POINT_INDEX["left_hip"], POINT_INDEX["right_hip"]


def passes_gate(poses: Poses, config: GateConfig, *, frame_width: int) -> npt.NDArray[np.bool_]:
    """bool [N]: which people pass, whole or cut off by the frame (see the module docstring).

    frame_width: pixels, for the side-edge rule. Both shoulders are required of a whole person: the head
    cap is measured from the shoulder line, so a person without it cannot be cropped safely.
    """
    if len(poses) == 0:
        return np.zeros(0, dtype=bool)
    if frame_width <= 0:
        raise ValueError(f"frame_width must be positive, got {frame_width}")
    confident = poses.scores >= config.point_threshold
    finite = np.isfinite(poses.points).all(axis=(1, 2))
    shoulder_width = np.linalg.norm(poses.points[:, L_SHOULDER] - poses.points[:, R_SHOULDER], axis=1)
    wide_enough = shoulder_width >= config.min_shoulder_width

    required = sorted({POINT_INDEX[name] for name in config.required_points} | {L_SHOULDER, R_SHOULDER})
    whole = confident[:, required].all(axis=1) & (confident.sum(axis=1) >= config.min_points)
    result: npt.NDArray[np.bool_] = finite & ((whole & wide_enough) | _cut_off(poses, config, frame_width))
    return result


def _cut_off(poses: Poses, config: GateConfig, frame_width: int) -> npt.NDArray[np.bool_]:
    if not config.accept_cut_off:
        return np.zeros(len(poses), dtype=bool)
    strong = poses.scores >= max(config.cut_off_shoulder_threshold, config.point_threshold)
    confident = poses.scores >= config.point_threshold
    hips_hidden = ~confident[:, [L_HIP, R_HIP]].all(axis=1)
    shoulder_width = np.linalg.norm(poses.points[:, L_SHOULDER] - poses.points[:, R_SHOULDER], axis=1)
    below = strong[:, [L_SHOULDER, R_SHOULDER]].all(axis=1) & hips_hidden
    below &= shoulder_width >= config.min_shoulder_width

    # Side edge: exactly one shoulder seen, with the hip under it (the torso height sets the crop's scale).
    side = np.zeros(len(poses), dtype=bool)
    for shoulder, hip, other in ((L_SHOULDER, L_HIP, R_SHOULDER), (R_SHOULDER, R_HIP, L_SHOULDER)):
        x, y = poses.points[:, shoulder, 0], poses.points[:, shoulder, 1]
        torso = np.abs(poses.points[:, hip, 1] - y)
        reach = config.side_edge_margin * frame_width + torso
        near_edge = (x <= reach) | (x >= frame_width - reach)
        side |= strong[:, shoulder] & ~confident[:, other] & confident[:, hip] & near_edge & (torso >= 1)
    cut: npt.NDArray[np.bool_] = below | side
    return cut
