"""`Poses`: the currency between the pose network and everything after it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from anonflow.contract.body import BODY_POINTS

N_POINTS = len(BODY_POINTS)
# Head evidence, used inside the edge only to place each person's head zone (what must be blanked). It
# never leaves the edge: no entry field, no file, no log holds it. A decoder fills what its model sees
# (YOLO: nose, eyes, ears; OpenPose: the neck) and leaves the rest at score 0.
HEAD_POINTS: tuple[str, ...] = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "neck")
N_HEAD = len(HEAD_POINTS)


@dataclass(frozen=True, slots=True)
class Poses:
    """People found in one frame, body points only.

    points: float32 [N, 12, 2], pixel (x, y) in the frame the detector was given; columns follow
        `anonflow.contract.body.BODY_POINTS` (shoulders, elbows, wrists, hips, knees, ankles; left first).
    scores: float32 [N, 12], the network's confidence per point in [0, 1]; 0 where a point was not found
        (its coordinates are then meaningless).
    head_points: float32 [N, 6, 2] and head_scores: float32 [N, 6], columns `HEAD_POINTS`: head evidence
        for placing head zones, edge-internal only (see `HEAD_POINTS`); all-zero scores when not given.
    N may be 0. Face points never join the body points: they live only in the head evidence.
    """

    points: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    head_points: npt.NDArray[np.float32] | None = None
    head_scores: npt.NDArray[np.float32] | None = None

    def __post_init__(self) -> None:
        n = self.points.shape[0] if self.points.ndim == 3 else 0
        if self.head_points is None:
            object.__setattr__(self, "head_points", np.zeros((n, N_HEAD, 2), np.float32))
        if self.head_scores is None:
            object.__setattr__(self, "head_scores", np.zeros((n, N_HEAD), np.float32))
        self._check_body()
        head, head_scores = self.head, self.head_confidence
        if head.shape != (n, N_HEAD, 2) or head_scores.shape != (n, N_HEAD):
            raise ValueError(
                f"head evidence must have shapes [{n}, {N_HEAD}, 2] and [{n}, {N_HEAD}], "
                f"got {list(head.shape)} and {list(head_scores.shape)}"
            )

    @property
    def head(self) -> npt.NDArray[np.float32]:
        """float32 [N, 6, 2] head evidence positions (never None after construction)."""
        assert self.head_points is not None
        return self.head_points

    @property
    def head_confidence(self) -> npt.NDArray[np.float32]:
        """float32 [N, 6] head evidence scores (never None after construction)."""
        assert self.head_scores is not None
        return self.head_scores

    def _check_body(self) -> None:
        if self.points.ndim != 3 or self.points.shape[1:] != (N_POINTS, 2):
            raise ValueError(f"points must have shape [N, {N_POINTS}, 2], got {list(self.points.shape)}")
        if self.scores.shape != self.points.shape[:2]:
            raise ValueError(
                f"scores must have shape {list(self.points.shape[:2])}, got {list(self.scores.shape)}"
            )
        if self.points.dtype != np.float32 or self.scores.dtype != np.float32:
            raise ValueError(
                f"points and scores must be float32, got {self.points.dtype}, {self.scores.dtype}"
            )

    def __len__(self) -> int:
        return int(self.points.shape[0])

    @classmethod
    def empty(cls) -> Poses:
        return cls(np.zeros((0, N_POINTS, 2), np.float32), np.zeros((0, N_POINTS), np.float32))

    def select(self, index: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> Poses:
        """The people picked by an index array or a boolean mask."""
        return Poses(self.points[index], self.scores[index], self.head[index], self.head_confidence[index])


class PoseDecoder(Protocol):
    """A model family's pre- and post-processing around one ONNX session.

    `prepare` turns a BGR uint8 frame [H, W, 3] into the network's input feed plus whatever `decode`
    needs to map outputs back to frame pixels; `decode` turns the raw outputs into `Poses` in frame
    pixels, dropping face points. Raising `anonflow.contract.errors.InputError` on outputs of an
    unexpected layout.
    """

    input_name: str

    def prepare(self, frame: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.float32], object]: ...

    def decode(self, outputs: dict[str, npt.NDArray[np.float32]], context: object) -> Poses: ...
