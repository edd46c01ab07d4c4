"""Cross-fitted heads: every person's reading comes from heads that never saw them, calibrated."""

from __future__ import annotations

import numpy as np
import pytest

from anonflow.models.crops import HEADS
from anonflow.models.train.crossfit import cross_fit, cross_fit_kernel
from anonflow.models.train.heads import activate, fit_heads
from tests.kit.labelled_features import blobs


def _people(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features of n people's crops and mirror images (the crop's, slightly moved), and their labels."""
    base, labels = blobs(n, seed, shift=1.5)
    mirrored = base + np.random.default_rng(seed + 100).normal(0, 0.3, base.shape).astype(np.float32)
    return base, mirrored, labels


def test_a_persons_reading_does_not_depend_on_their_own_label() -> None:
    features, mirrored, labels = _people(120, seed=0)
    flipped = labels.copy()
    flipped[7, 0] = 1 - flipped[7, 0]  # person 7's gender label is wrong

    before = cross_fit(features, mirrored, labels, [1.0])
    after = cross_fit(features, mirrored, flipped, [1.0])

    # Out of fold, person 7 is read by heads fitted without them: only the temperature (fitted on every
    # person's reading) may move their probability, never towards their new label by more than it moves
    # everyone else's.
    assert after.out_of_fold[7, 0] == pytest.approx(before.out_of_fold[7, 0], abs=0.02)
    # Positive control: heads fitted on everyone (an in-sample reading) do move towards the new label.
    inside = fit_heads(np.concatenate([features, mirrored]), np.concatenate([flipped] * 2), 1.0)
    original = fit_heads(np.concatenate([features, mirrored]), np.concatenate([labels] * 2), 1.0)
    moved = inside(features[7:8])[0, 0] - original(features[7:8])[0, 0]
    assert abs(moved) > 0.02
    assert np.sign(moved) == (1 if flipped[7, 0] == 1 else -1)


def test_shipped_heads_fit_everyone_and_carry_the_temperature() -> None:
    features, mirrored, labels = _people(200, seed=1)

    fitted = cross_fit(features, mirrored, labels, [1.0])

    plain = fit_heads(np.concatenate([features, mirrored]), np.concatenate([labels] * 2), 1.0)
    logits = plain.logits(features).astype(np.float64)
    for name, columns in (("gender", slice(0, 1)), ("age_group", slice(1, 4)), ("orientation", slice(4, 7))):
        logits[:, columns] /= fitted.temperatures[name]
    np.testing.assert_allclose(fitted.heads(features), activate(logits), atol=1e-5)
    assert fitted.heads.trained == tuple(HEADS)
    assert fitted.out_of_fold.shape == (200, 7)
    np.testing.assert_allclose(fitted.out_of_fold[:, 1:4].sum(axis=1), 1.0, rtol=1e-5)
    # Out of fold is honest: less accurate than the in-sample reading of the same people, still useful.
    out = ((fitted.out_of_fold[:, 0] > 0.5) == (labels[:, 0] == 1)).mean()
    inside = ((fitted.heads(features)[:, 0] > 0.5) == (labels[:, 0] == 1)).mean()
    assert 0.6 < out <= inside


def test_calibration_undoes_an_overconfident_scale() -> None:
    # Weak regularisation on few people and many useless features: the raw heads are overconfident on
    # people they never saw, so the temperature fitted out of fold must cool them (above 1; an
    # in-sample fit would find them well calibrated or too cool instead).
    features, mirrored, labels = _people(80, seed=2)
    noise = np.random.default_rng(3).normal(0, 1, (80, 200)).astype(np.float32)
    wide, wide_mirrored = np.c_[features, noise], np.c_[mirrored, noise]

    fitted = cross_fit(wide, wide_mirrored, labels, [100.0])

    assert fitted.temperatures["gender"] > 1.0


@pytest.mark.parametrize(
    ("shapes", "error"),
    [
        (((10, 4), (10, 4), (10, 3)), None),
        (((10, 4), (10, 5), (10, 3)), "disagree"),
        (((10, 4), (10, 4), (9, 3)), "disagree"),
    ],
)
def test_shapes_must_agree(shapes: tuple[tuple[int, int], ...], error: str | None) -> None:
    rng = np.random.default_rng(4)
    features, mirrored = (rng.normal(0, 1, s).astype(np.float32) for s in shapes[:2])
    labels = rng.integers(0, 2, shapes[2])
    if error is None:
        assert cross_fit(features, mirrored, labels, [1.0]).out_of_fold.shape == (10, 7)
    else:
        with pytest.raises(ValueError, match=error):
            cross_fit(features, mirrored, labels, [1.0])


def test_each_head_takes_the_regularisation_that_predicts_people_it_never_saw() -> None:
    # Gender labels are coin flips over 200 noise features: any fit to them is overfitting, which only an
    # out-of-fold reading shows; orientation has a real signal.
    features, mirrored, labels = _people(150, seed=5)
    rng = np.random.default_rng(6)
    noise = rng.normal(0, 1, (150, 200)).astype(np.float32)
    wide, wide_mirrored = np.c_[features, noise], np.c_[mirrored, noise]
    labels[:, 0] = rng.integers(0, 2, 150)
    grid = (1e-4, 1.0, 100.0)

    fitted = cross_fit(wide, wide_mirrored, labels, grid)

    assert fitted.regularisation["gender"] == 1e-4
    # Positive control: judged on the people it was fitted on, the weakest penalty looks best.
    in_sample = []
    for c in grid:
        heads = fit_heads(np.concatenate([wide, wide_mirrored]), np.concatenate([labels] * 2), c)
        p = heads(wide)[:, 0]
        in_sample.append(-np.mean(np.log(np.where(labels[:, 0] == 1, p, 1 - p))))
    assert int(np.argmin(in_sample)) == len(grid) - 1


def _ring(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Males inside a ring, females outside it (no line separates them); mirrors slightly moved."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, 6)).astype(np.float32)
    gender = (np.linalg.norm(x[:, :2], axis=1) < 1.2).astype(np.int64)
    return x, x + rng.normal(0, 0.1, x.shape).astype(np.float32), gender


def test_kernel_reading_of_a_person_does_not_depend_on_their_own_label() -> None:
    x, mirrored, gender = _ring(200, seed=7)
    flipped = gender.copy()
    flipped[3] = 1 - flipped[3]

    kernel, before = cross_fit_kernel(x, mirrored, gender)
    shipped, after = cross_fit_kernel(x, mirrored, flipped)

    assert kernel is not None
    # Out of fold only the shared temperature can move person 3's reading.
    assert after[3] == pytest.approx(before[3], abs=0.03)
    # Positive control: the machine fitted on everyone (what ships) does learn person 3's new label.
    assert shipped is not None
    moved = shipped.logit(x[3:4])[0] - kernel.logit(x[3:4])[0]
    assert abs(moved) > 0.1 and np.sign(moved) == (1 if flipped[3] == 1 else -1)


def test_kernel_out_of_fold_reading_is_calibrated_and_honest() -> None:
    x, mirrored, gender = _ring(300, seed=8)
    gender[:10] = -1  # unknown labels are ignored

    kernel, p_male = cross_fit_kernel(x, mirrored, gender)

    assert kernel is not None and 0.05 <= kernel.temperature <= 5.0
    known = gender != -1
    out = ((p_male[known] > 0.5) == (gender[known] == 1)).mean()
    inside = ((kernel.logit(x[known]) > 0) == (gender[known] == 1)).mean()
    assert 0.8 < out <= inside
    assert p_male.shape == (300,) and ((p_male >= 0) & (p_male <= 1)).all()


@pytest.mark.parametrize(
    ("gender", "shape", "error"),
    [
        (np.ones(20, np.int64), (20, 6), None),  # one gender labelled: no machine, no opinion
        (np.zeros(19, np.int64), (20, 6), "disagree"),
        (np.zeros(20, np.int64), (20, 5), "disagree"),
    ],
)
def test_kernel_without_two_genders_or_with_bad_shapes(
    gender: np.ndarray, shape: tuple[int, int], error: str | None
) -> None:
    x = np.random.default_rng(9).normal(0, 1, (20, 6)).astype(np.float32)
    mirrored = np.zeros(shape, np.float32)
    if error is None:
        kernel, p_male = cross_fit_kernel(x, mirrored, gender)
        assert kernel is None and (p_male == 0.5).all()
    else:
        with pytest.raises(ValueError, match=error):
            cross_fit_kernel(x, mirrored, gender)
