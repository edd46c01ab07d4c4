"""Non-biometric appearance template, reduced on the device to one of a few hundred/thousand groups.

The template is what a shop assistant would say of a stranger: the colours of the top and of the trousers
and whether a bag or coat is carried. It is computed from the anonymous crop only (no head pixels), then
hashed by random hyperplanes (SimHash) into `groups` buckets. Many people share every bucket, so the
group id re-connects journey fragments downstream without identifying anyone. The hyperplanes come from
a fixed seed so every gateway of a deployment buckets alike.
"""

from __future__ import annotations

import math
from functools import cache

import cv2
import numpy as np
import numpy.typing as npt

# Template layout: 9 colour bins for the torso band, 9 for the legs band, then accessory flags.
HUE_BINS = 6
COLOUR_BINS = HUE_BINS + 3  # + dark, grey, light for unsaturated pixels
ACCESSORIES = ("bag", "backpack", "hat", "coat_jacket", "long_sleeves", "long_pants")
TEMPLATE_SIZE = 2 * COLOUR_BINS + len(ACCESSORIES)
_SEED = 20250259473  # fixed: all gateways must share the hyperplanes


def colour_histograms(crops: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """float32 [N, 18]: normalised coarse colour histograms of the torso band and the legs band.

    crops: uint8 [N, 160, 80, 3] BGR anonymous crops (top row just above the shoulders).
    """
    n = len(crops)
    out = np.zeros((n, 2 * COLOUR_BINS), np.float32)
    if n == 0:
        return out
    height, width = crops.shape[1:3]
    bands = ((int(0.10 * height), int(0.40 * height)), (int(0.55 * height), int(0.90 * height)))
    x0, x1 = int(0.25 * width), int(0.75 * width)
    hsv = cv2.cvtColor(crops.reshape(-1, width, 3), cv2.COLOR_BGR2HSV).reshape(crops.shape)
    for b, (y0, y1) in enumerate(bands):
        region = hsv[:, y0:y1, x0:x1].reshape(n, -1, 3).astype(np.int32)
        hue, sat, val = region[..., 0], region[..., 1], region[..., 2]
        chromatic = (sat >= 60) & (val >= 50)
        bins = np.where(
            chromatic,
            (hue * HUE_BINS) // 180,
            HUE_BINS + np.digitize(val, [70, 180]),  # dark / grey / light
        )
        counts = np.stack([(bins == k).sum(axis=1) for k in range(COLOUR_BINS)], axis=1)
        out[:, b * COLOUR_BINS : (b + 1) * COLOUR_BINS] = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    return out


def templates(
    crops: npt.NDArray[np.uint8], attribute_labels: tuple[str, ...], probabilities: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """float32 [N, TEMPLATE_SIZE]: colour histograms followed by accessory probabilities (0.5 if unknown)."""
    flags = np.full((len(crops), len(ACCESSORIES)), 0.5, np.float32)
    for k, name in enumerate(ACCESSORIES):
        if name in attribute_labels:
            flags[:, k] = probabilities[:, attribute_labels.index(name)]
    return np.concatenate([colour_histograms(crops), flags], axis=1)


@cache
def _hyperplanes(bits: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    rng = np.random.default_rng(_SEED)
    planes = rng.standard_normal((bits, TEMPLATE_SIZE)).astype(np.float32)
    # Centre on a typical template so planes split real data rather than all falling to one side.
    centre = np.concatenate([np.full(2 * COLOUR_BINS, 1 / COLOUR_BINS), np.full(len(ACCESSORIES), 0.5)])
    return planes, centre.astype(np.float32)


def group_ids(template: npt.NDArray[np.float32], groups: int) -> npt.NDArray[np.int64]:
    """int64 [N] in [0, groups): the SimHash bucket of each template."""
    if template.ndim != 2 or template.shape[1] != TEMPLATE_SIZE:
        raise ValueError(f"template must have shape [N, {TEMPLATE_SIZE}], got {list(template.shape)}")
    bits = max(1, math.ceil(math.log2(groups)))
    planes, centre = _hyperplanes(bits)
    signs = ((template - centre) @ planes.T) > 0
    codes = (signs * (1 << np.arange(bits))).sum(axis=1)
    result: npt.NDArray[np.int64] = codes.astype(np.int64) % groups
    return result
