"""The tracker interface every implementation honours (see tests/edge/tracking for the contract test)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class TrackAssignment:
    """Which track each input detection was assigned to, aligned with the input rows.

    track_ids: tuple of length N; a 16-hex-digit random id, or None while the detection is not (yet)
        part of a confirmed track (the chain emits no entry for it).
    ended: ids of tracks that were dropped in this update (lost for longer than the tracker's buffer),
        so per-track state such as attribute smoothing can be released.
    """

    track_ids: tuple[str | None, ...]
    ended: tuple[str, ...] = ()


class Tracker(Protocol):
    """A per-camera tracker. Ids are random per process, never derived from appearance or time."""

    def update(
        self, boxes: npt.NDArray[np.float32], scores: npt.NDArray[np.float32], dt_s: float
    ) -> TrackAssignment:
        """Advance by `dt_s` seconds and associate this frame's detections.

        boxes: float32 [N, 4] pixel (x_min, y_min, x_max, y_max); scores: float32 [N] in [0, 1].
        """
        ...

    def predict(self, dt_s: float) -> tuple[npt.NDArray[np.float32], tuple[str, ...]]:
        """Advance by `dt_s` seconds without detections (a frame the pose model skipped).

        Returns the predicted boxes float32 [M, 4] of the tracks currently followed, and their ids.
        """
        ...
