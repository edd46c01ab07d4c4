"""The constant-velocity box Kalman filter: predict, update, and noise that scales with time."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from anonflow.edge.tracking.kalman import BoxKalman, cxcywh_to_xyxy, xyxy_to_cxcywh

KF = BoxKalman()
Q_V = 30 * (30 / 160) ** 2  # ByteTrack's velocity noise (h/160 per frame) as a density per second³


def _state(*values: float) -> np.ndarray:
    return np.array([values], np.float64)


def test_initiate_puts_a_still_track_on_the_box() -> None:
    means, covs = KF.initiate(np.array([[100.0, 50.0, 40.0, 100.0], [10.0, 10.0, 0.0, 0.0]]))
    np.testing.assert_array_equal(means[:, :4], [[100, 50, 40, 100], [10, 10, 0, 0]])
    np.testing.assert_array_equal(means[:, 4:], 0.0)
    # Diagonal and positive even for a zero-size box (the scale has a one-pixel floor).
    assert np.all(np.linalg.eigvalsh(covs) > 0)
    np.testing.assert_array_equal(covs, np.einsum("mii->mi", covs)[:, :, None] * np.eye(8))


@pytest.mark.parametrize(
    ("mean", "dt_s", "expected"),
    [
        ((100, 50, 40, 100, 0, 0, 0, 0), 0.5, (100, 50, 40, 100, 0, 0, 0, 0)),
        ((100, 50, 40, 100, 20, -10, 0, 0), 0.5, (110, 45, 40, 100, 20, -10, 0, 0)),
        ((100, 50, 40, 100, 20, -10, 2, 4), 2.0, (140, 30, 44, 108, 20, -10, 2, 4)),
        ((100, 50, 40, 100, 20, -10, 2, 4), 0.0, (100, 50, 40, 100, 20, -10, 2, 4)),
    ],
)
def test_predict_moves_the_mean_at_constant_velocity(
    mean: tuple[float, ...], dt_s: float, expected: tuple[float, ...]
) -> None:
    means, _ = KF.predict(_state(*mean), np.eye(8)[None], dt_s)
    np.testing.assert_allclose(means[0], expected)


@pytest.mark.parametrize(
    ("height", "dt_s", "position_var", "velocity_var"),
    [
        # ByteTrack's per-frame noise at 30 fps: position std h/20 (plus the tiny acceleration term),
        # velocity std h/160 per frame, i.e. 30 h/160 per second.
        (100.0, 1 / 30, 25.0 + Q_V * 100**2 / (3 * 30**3), (30 * 100 / 160) ** 2),
        (200.0, 1 / 30, 4 * (25.0 + Q_V * 100**2 / (3 * 30**3)), (30 * 200 / 160) ** 2),
        # Three times the step, three times the random-walk part; the acceleration part grows as dt^3.
        (100.0, 0.1, 75.0 + Q_V * 100**2 * 0.1**3 / 3, 3 * (30 * 100 / 160) ** 2),
        (100.0, 0.0, 0.0, 0.0),
    ],
)
def test_process_noise_scales_with_time_and_box_height(
    height: float, dt_s: float, position_var: float, velocity_var: float
) -> None:
    _, covs = KF.predict(_state(0, 0, 40, height, 0, 0, 0, 0), np.zeros((1, 8, 8)), dt_s)
    for coord in range(4):
        assert covs[0, coord, coord] == pytest.approx(position_var, rel=1e-3)
        assert covs[0, coord + 4, coord + 4] == pytest.approx(velocity_var, rel=1e-3)


@pytest.mark.parametrize("steps", [2, 3, 10])
def test_many_short_predictions_equal_one_long_one(steps: int) -> None:
    # The point of noise per second: detecting every k frames (or a jittery frame rate) must not change
    # how uncertain a track becomes over the same time.
    means, covs = KF.initiate(np.array([[100.0, 50.0, 40.0, 100.0]]))
    means[:, 4:6] = (30.0, -5.0)
    one_mean, one_cov = KF.predict(means, covs, 0.6)
    for _ in range(steps):
        means, covs = KF.predict(means, covs, 0.6 / steps)
    np.testing.assert_allclose(means, one_mean)
    np.testing.assert_allclose(covs, one_cov, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    ("measured", "expect_moves"),
    [
        ((100.0, 50.0, 40.0, 100.0), False),
        ((110.0, 44.0, 42.0, 96.0), True),
    ],
)
def test_update_moves_the_mean_part_way_and_shrinks_the_covariance(
    measured: tuple[float, ...], expect_moves: bool
) -> None:
    means, covs = KF.initiate(np.array([[100.0, 50.0, 40.0, 100.0]]))
    means, covs = KF.predict(means, covs, 0.1)
    new_means, new_covs = KF.update(means, covs, np.array([measured]))
    step = new_means[0, :4] - means[0, :4]
    target = np.array(measured) - means[0, :4]
    if expect_moves:
        fraction = step / target
        assert np.all((fraction > 0) & (fraction < 1))  # towards the measurement, not past it
    else:
        np.testing.assert_allclose(step, 0.0, atol=1e-12)
    assert np.all(np.diag(new_covs[0]) < np.diag(covs[0]))
    np.testing.assert_allclose(new_covs, new_covs.transpose(0, 2, 1))
    assert np.all(np.linalg.eigvalsh(new_covs) > 0)


@pytest.mark.parametrize("fps", [5.0, 10.0, 30.0])
def test_filter_learns_the_velocity_of_a_walk(fps: float) -> None:
    velocity = np.array([60.0, -12.0, 0.0, 0.0])
    box = np.array([100.0, 200.0, 40.0, 100.0])
    means, covs = KF.initiate(box[None])
    for k in range(1, round(3 * fps)):
        means, covs = KF.predict(means, covs, 1 / fps)
        means, covs = KF.update(means, covs, (box + velocity * k / fps)[None])
    np.testing.assert_allclose(means[0, 4:], velocity, atol=1.0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: KF.initiate(np.zeros((2, 5))), r"boxes must have shape \[M, 4\]"),
        (lambda: KF.predict(np.zeros((2, 8)), np.zeros((3, 8, 8)), 0.1), r"covs must have shape \[2, 8, 8\]"),
        (lambda: KF.predict(np.zeros((2, 7)), np.zeros((2, 8, 8)), 0.1), r"means must have shape \[M, 8\]"),
        (lambda: KF.predict(np.zeros((1, 8)), np.zeros((1, 8, 8)), -1.0), "dt_s must be"),
        (lambda: KF.update(np.zeros((2, 8)), np.tile(np.eye(8), (2, 1, 1)), np.zeros((1, 4))), "2 rows"),
    ],
)
def test_wrong_shapes_are_value_errors(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    ("xyxy", "cxcywh"),
    [
        ((10, 20, 50, 120), (30, 70, 40, 100)),
        ((-10, -10, 10, 10), (0, 0, 20, 20)),
        ((5, 5, 5, 5), (5, 5, 0, 0)),
    ],
)
def test_box_conversions_round_trip(xyxy: tuple[float, ...], cxcywh: tuple[float, ...]) -> None:
    np.testing.assert_allclose(xyxy_to_cxcywh(np.array([xyxy]))[0], cxcywh)
    np.testing.assert_allclose(cxcywh_to_xyxy(np.array([cxcywh]))[0], xyxy)


def test_negative_predicted_size_becomes_an_empty_box() -> None:
    np.testing.assert_allclose(cxcywh_to_xyxy(np.array([[30.0, 40.0, -4.0, 10.0]]))[0], (30, 35, 30, 45))
