"""Non-biometric appearance template, reduced on the device to one of a few hundred/thousand groups.

The template is what a shop assistant would say of a stranger: the colours of the top and of the trousers
and whether a bag or coat is carried. It is computed from the anonymous crop only (no head pixels), then
hashed by random hyperplanes (SimHash) into `groups` buckets. Many people share every bucket, so the
group id re-connects journey fragments downstream without identifying anyone.

The hyperplanes are drawn from a key derived from a per-store secret and the store-local date
(HMAC-SHA256 of `store_id/YYYY-MM-DD`, see `DailyKeys`): every gateway of a store buckets alike on a
given day, so fragments seen by different gateways still re-connect, while the same clothes land in
unrelated groups in another store or on another day, so a group links nobody across stores or days.
The secret is deployment configuration (a file on the device); it never appears in an entry or a log.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import numpy.typing as npt

# Template layout: 9 colour bins for the torso band, 9 for the legs band, then accessory flags.
HUE_BINS = 6
COLOUR_BINS = HUE_BINS + 3  # + dark, grey, light for unsaturated pixels
ACCESSORIES = ("bag", "backpack", "hat", "coat_jacket", "long_sleeves", "long_pants")
TEMPLATE_SIZE = 2 * COLOUR_BINS + len(ACCESSORIES)
# Shortest secret accepted: 128 bits, so the daily keys cannot be guessed from observed groups.
MIN_SECRET_BYTES = 16


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


def day_key(secret: bytes, store_id: str, day: date) -> bytes:
    """The 32-byte hashing key of one store on one store-local day."""
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the appearance secret must be at least {MIN_SECRET_BYTES} bytes")
    return hmac.new(secret, f"{store_id}/{day.isoformat()}".encode(), hashlib.sha256).digest()


class DailyKeys:
    """event time (ms, UTC) -> the key of the store-local day it falls on.

    secret: the store's secret (None: a random one for this process only, so groups are still unlinkable
    but no longer shared with the store's other gateways or across a restart).
    """

    def __init__(self, secret: bytes | None, store_id: str, time_zone: str = "UTC") -> None:
        self._secret = secret if secret is not None else secrets.token_bytes(32)
        if len(self._secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the appearance secret must be at least {MIN_SECRET_BYTES} bytes")
        self._store_id = store_id
        self._zone = ZoneInfo(time_zone)
        self._last: tuple[date, bytes] | None = None

    def __call__(self, event_time_ms: int) -> bytes:
        day = datetime.fromtimestamp(event_time_ms / 1000, UTC).astimezone(self._zone).date()
        if self._last is None or self._last[0] != day:
            self._last = (day, day_key(self._secret, self._store_id, day))
        return self._last[1]

    def __repr__(self) -> str:  # never show the secret, not even in a traceback
        return f"DailyKeys(store_id={self._store_id!r}, time_zone={self._zone.key!r})"


@lru_cache(maxsize=16)
def _hyperplanes(bits: int, key: bytes) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    rng = np.random.default_rng(int.from_bytes(key, "big"))
    planes = rng.standard_normal((bits, TEMPLATE_SIZE)).astype(np.float32)
    # Centre on a typical template so planes split real data rather than all falling to one side.
    centre = np.concatenate([np.full(2 * COLOUR_BINS, 1 / COLOUR_BINS), np.full(len(ACCESSORIES), 0.5)])
    return planes, centre.astype(np.float32)


def group_ids(template: npt.NDArray[np.float32], groups: int, key: bytes) -> npt.NDArray[np.int64]:
    """int64 [N] in [0, groups): the SimHash bucket of each template under one day's key."""
    if template.ndim != 2 or template.shape[1] != TEMPLATE_SIZE:
        raise ValueError(f"template must have shape [N, {TEMPLATE_SIZE}], got {list(template.shape)}")
    bits = max(1, math.ceil(math.log2(groups)))
    planes, centre = _hyperplanes(bits, key)
    signs = ((template - centre) @ planes.T) > 0
    codes = (signs * (1 << np.arange(bits))).sum(axis=1)
    result: npt.NDArray[np.int64] = codes.astype(np.int64) % groups
    return result
