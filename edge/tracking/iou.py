"""Intersection over union between two sets of pixel boxes."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def iou_matrix(a: npt.NDArray[np.floating], b: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """IoU of every box in `a` [N, 4] with every box in `b` [M, 4], both (x_min, y_min, x_max, y_max).

    Returns float64 [N, M] in [0, 1]. A box with no area (zero or negative width or height) overlaps
    nothing, so its row or column is 0 rather than NaN.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    for name, boxes in (("a", a), ("b", b)):
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise ValueError(f"{name} must have shape [N, 4], got {list(boxes.shape)}")
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    inter_w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    inter_h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(inter_w, 0, None) * np.clip(inter_h, 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union > 0)
    return out
