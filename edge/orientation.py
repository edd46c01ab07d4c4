"""Front / back / side from left-right key-point geometry (patent para 42, 51)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from anonflow.contract.body import POINT_INDEX
from anonflow.contract.entry import Orientation
from anonflow.edge.pose.types import Poses

_PAIRS = [
    (POINT_INDEX["left_shoulder"], POINT_INDEX["right_shoulder"]),
    (POINT_INDEX["left_hip"], POINT_INDEX["right_hip"]),
]
_LS, _LH = POINT_INDEX["left_shoulder"], POINT_INDEX["left_hip"]
_RS, _RH = POINT_INDEX["right_shoulder"], POINT_INDEX["right_hip"]


def orientations(poses: Poses, point_threshold: float, side_ratio: float = 0.35) -> list[Orientation]:
    """One orientation per person.

    Facing the camera, a person's left side appears on the image's right, so left-minus-right x is
    positive; seen from behind it is negative. When shoulders and hips are narrow compared with the torso
    height the person is side-on. Unknown when neither pair is confidently seen.
    """
    conf = poses.scores >= point_threshold
    x, y = poses.points[..., 0], poses.points[..., 1]
    result: list[Orientation] = []
    for i in range(len(poses)):
        spans = [x[i, left] - x[i, right] for left, right in _PAIRS if conf[i, left] and conf[i, right]]
        if not spans:
            result.append(Orientation.UNKNOWN)
            continue
        torso = _torso_height(x[i], y[i], conf[i])
        span = float(np.mean(spans))
        if torso > 0 and abs(span) < side_ratio * torso:
            result.append(Orientation.SIDE)
        else:
            result.append(Orientation.FRONT if span > 0 else Orientation.BACK)
    return result


def _torso_height(
    x: npt.NDArray[np.float32], y: npt.NDArray[np.float32], conf: npt.NDArray[np.bool_]
) -> float:
    sides = [(s, h) for s, h in ((_LS, _LH), (_RS, _RH)) if conf[s] and conf[h]]
    if not sides:
        return 0.0
    return float(np.mean([np.hypot(x[h] - x[s], y[h] - y[s]) for s, h in sides]))
