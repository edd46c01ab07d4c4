"""Augmentation for head-free crops: what changes between two sightings of the same anonymous body.

Scale and shift jitter (the crop box moves with the pose estimate), a varying top edge (the head cap
hangs from the shoulder line, which jitters), colour (lighting and white balance per camera), horizontal
flip (left and right carry no label here) and occlusion (carts, shelves, other shoppers). Never a head:
nothing is added above the crop, the top is only ever blanked further.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt


def augment(crops: npt.NDArray[np.uint8], rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    """uint8 [N, 160, 80, 3] BGR -> the same shape, each crop jittered independently."""
    out = np.empty_like(crops)
    h, w = crops.shape[1:3]
    for i, crop in enumerate(crops):
        scale = rng.uniform(0.9, 1.1)
        dx, dy = rng.uniform(-0.06, 0.06) * w, rng.uniform(-0.05, 0.05) * h
        matrix = np.array([[scale, 0, (1 - scale) * w / 2 + dx], [0, scale, (1 - scale) * h / 2 + dy]])
        image = cv2.warpAffine(crop, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)
        if rng.random() < 0.5:
            image = image[:, ::-1]
        top = int(rng.uniform(0, 0.08) * h)  # a lower head cap: blank the top rows as the edge would
        image = image.astype(np.float32)
        if top:
            image[:top] = 0.0
        gain = rng.uniform(0.75, 1.25) * rng.uniform(0.9, 1.1, size=3)
        image = (image - 128.0) * rng.uniform(0.8, 1.2) + 128.0
        image = image * gain + rng.uniform(-20, 20)
        if rng.random() < 0.3:  # occlusion: a grey box over up to a quarter of the crop
            oh, ow = int(rng.uniform(0.15, 0.5) * h), int(rng.uniform(0.3, 0.8) * w)
            y0, x0 = int(rng.integers(0, h - oh + 1)), int(rng.integers(0, w - ow + 1))
            image[y0 : y0 + oh, x0 : x0 + ow] = rng.uniform(0, 255)
        out[i] = np.clip(image, 0, 255).astype(np.uint8)
    return out
