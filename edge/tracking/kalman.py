"""A constant-velocity Kalman filter on (cx, cy, w, h) boxes, batched over tracks, with time in seconds.

State: float64 [8] = (cx, cy, w, h, vx, vy, vw, vh), pixels and pixels per second. A batch of M tracks
is `means` [M, 8] and `covs` [M, 8, 8]. The measurement is the box (cx, cy, w, h).

Noise follows the SORT/ByteTrack convention of scaling every standard deviation by the box height, so
one setting fits near and far people. ByteTrack states its process noise per frame at 30 fps; here it is
a density per second, so a step of any length `dt_s` gets the matching amount (variable frame rates and
detecting every k frames then need no special case). For each coordinate the process is a random walk
on position (density `position_noise`) plus white-noise acceleration (density `velocity_noise`):

    Q_pp = h² (q_p dt + q_v dt³/3),   Q_pv = h² q_v dt²/2,   Q_vv = h² q_v dt

The defaults equal ByteTrack's at dt = 1/30 s: q_p = 30 (1/20)², q_v = 30 (30/160)².
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

_FRAME_S = 1.0 / 30.0  # the frame period ByteTrack's per-frame constants were tuned for
_STD_POSITION = 1.0 / 20.0  # per frame, fraction of box height (ByteTrack)
_STD_VELOCITY = 1.0 / 160.0  # per frame per frame, fraction of box height (ByteTrack)

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class BoxKalman:
    """Predict and update steps for a batch of box tracks; holds only the noise settings.

    position_noise: random-walk density of the box coordinates, box heights² per second.
    velocity_noise: white-noise acceleration density, box heights² per second³.
    measurement_std: standard deviation of a detected coordinate, fraction of the box height.
    initial_velocity_std: standard deviation of a new track's unknown velocity, box heights per second.
    """

    position_noise: float = _STD_POSITION**2 / _FRAME_S
    velocity_noise: float = (_STD_VELOCITY / _FRAME_S) ** 2 / _FRAME_S
    measurement_std: float = _STD_POSITION
    initial_velocity_std: float = 10.0 * _STD_VELOCITY / _FRAME_S

    def initiate(self, boxes: Floats) -> tuple[Floats, Floats]:
        """New tracks at rest on measured boxes [M, 4] (cx, cy, w, h) -> (means [M, 8], covs [M, 8, 8])."""
        boxes = _check_boxes(boxes)
        m = boxes.shape[0]
        means = np.zeros((m, 8))
        means[:, :4] = boxes
        scale = _scale(boxes[:, 3])
        std = np.empty((m, 8))
        std[:, :4] = 2.0 * self.measurement_std * scale[:, None]
        std[:, 4:] = self.initial_velocity_std * scale[:, None]
        covs = np.zeros((m, 8, 8))
        idx = np.arange(8)
        covs[:, idx, idx] = std**2
        return means, covs

    def predict(self, means: Floats, covs: Floats, dt_s: float) -> tuple[Floats, Floats]:
        """Advance every track by `dt_s` seconds (>= 0); returns new arrays."""
        _check_state(means, covs)
        if not np.isfinite(dt_s) or dt_s < 0:
            raise ValueError(f"dt_s must be a finite number of seconds >= 0, got {dt_s}")
        transition = np.eye(8)
        transition[:4, 4:] = dt_s * np.eye(4)
        block = np.array(
            [
                [
                    self.position_noise * dt_s + self.velocity_noise * dt_s**3 / 3.0,
                    self.velocity_noise * dt_s**2 / 2.0,
                ],
                [self.velocity_noise * dt_s**2 / 2.0, self.velocity_noise * dt_s],
            ]
        )
        noise = np.kron(block, np.eye(4))  # (pos, vel) x (pos, vel) blocks over the 4 coordinates
        scale = _scale(means[:, 3])
        new_means = means @ transition.T
        new_covs = transition @ covs @ transition.T + scale[:, None, None] ** 2 * noise
        return new_means, new_covs

    def update(self, means: Floats, covs: Floats, boxes: Floats) -> tuple[Floats, Floats]:
        """Correct each track [M] with its measured box [M, 4] (cx, cy, w, h); returns new arrays."""
        _check_state(means, covs)
        boxes = _check_boxes(boxes)
        if boxes.shape[0] != means.shape[0]:
            raise ValueError(f"boxes must have {means.shape[0]} rows (one per track), got {boxes.shape[0]}")
        scale = _scale(means[:, 3])
        idx = np.arange(4)
        innovation_cov = covs[:, :4, :4].copy()
        innovation_cov[:, idx, idx] += (self.measurement_std * scale[:, None]) ** 2
        # gain K = P Hᵀ S⁻¹; with S symmetric, Kᵀ = S⁻¹ (H P) is one batched solve.
        gain = np.linalg.solve(innovation_cov, covs[:, :4, :]).transpose(0, 2, 1)
        residual = boxes - means[:, :4]
        new_means = means + np.einsum("mij,mj->mi", gain, residual)
        new_covs = covs - gain @ covs[:, :4, :]
        new_covs = 0.5 * (new_covs + new_covs.transpose(0, 2, 1))  # keep it symmetric against round-off
        return new_means, new_covs


def xyxy_to_cxcywh(boxes: npt.NDArray[np.floating]) -> Floats:
    """[M, 4] (x_min, y_min, x_max, y_max) -> [M, 4] (cx, cy, w, h), float64."""
    b = np.asarray(boxes, dtype=np.float64)
    return np.stack(
        [(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], axis=1
    )


def cxcywh_to_xyxy(boxes: npt.NDArray[np.floating]) -> Floats:
    """[M, 4] (cx, cy, w, h) -> [M, 4] (x_min, y_min, x_max, y_max), float64; negative sizes become 0."""
    b = np.asarray(boxes, dtype=np.float64)
    half_w = np.clip(b[:, 2], 0, None) / 2
    half_h = np.clip(b[:, 3], 0, None) / 2
    return np.stack([b[:, 0] - half_w, b[:, 1] - half_h, b[:, 0] + half_w, b[:, 1] + half_h], axis=1)


def _scale(heights: Floats) -> Floats:
    # A floor of one pixel keeps the covariance positive definite for degenerate or shrinking boxes.
    return np.maximum(heights, 1.0)


def _check_boxes(boxes: Floats) -> Floats:
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must have shape [M, 4] (cx, cy, w, h), got {list(boxes.shape)}")
    return boxes


def _check_state(means: Floats, covs: Floats) -> None:
    if means.ndim != 2 or means.shape[1] != 8:
        raise ValueError(f"means must have shape [M, 8], got {list(means.shape)}")
    if covs.shape != (means.shape[0], 8, 8):
        raise ValueError(f"covs must have shape [{means.shape[0]}, 8, 8], got {list(covs.shape)}")
