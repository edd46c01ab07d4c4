"""The shipped heads: regularisation chosen, calibrated and thresholded out of fold, fitted on everyone.

Why not on a validation split: on PA-100K a 15 % validation split is about 180 people, too few to place
an abstention margin (the coverage it lands at through the chain moved by several points between splits,
and accuracy moves about a point for every two points of coverage), and the heads then learnt from 85 %
of the training people only. Cross-fitting uses them all: the training people are dealt into folds; each
person's reading comes from heads fitted without their fold (as uncertain as a new person's). On those
out-of-fold readings each head takes its regularisation from a grid (the age head, with a few dozen
children and seniors among ~1,200 people, needs ten times the penalty the gender head does on 3,073
features), then a temperature (calibration); the abstention thresholds are chosen on the calibrated
out-of-fold probabilities of every training person. The shipped heads are fitted on all training people
with the chosen regularisation and carry the same temperatures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import numpy.typing as npt

from anonflow.contract.errors import InputError
from anonflow.models.crops import UNKNOWN
from anonflow.models.train.finetune import temperature
from anonflow.models.train.heads import GROUPS, OUTPUT_LABELS, LinearHeads, activate, fit_heads
from anonflow.models.train.kernel import KERNEL_C, KernelGender, decision_temperature, fit_kernel_gender

FOLDS: Final = 5


@dataclass(frozen=True, slots=True)
class CrossFitted:
    """heads: fitted on every training person, temperatures folded in. out_of_fold: float32 [N, 7], each
    person's calibrated probabilities from heads that never saw them, crop and mirror averaged (as the
    edge reads). regularisation, temperatures: per head name (an untrained head: the grid's first, 1.0)."""

    heads: LinearHeads
    out_of_fold: npt.NDArray[np.float32]
    regularisation: dict[str, float]
    temperatures: dict[str, float]


def cross_fit(
    features: npt.NDArray[np.float32],
    mirrored: npt.NDArray[np.float32],
    labels: npt.NDArray[np.int64],
    grid: Sequence[float],
    *,
    folds: int = FOLDS,
    seed: int = 0,
) -> CrossFitted:
    """features, mirrored: float32 [N, D] of each person's crop and of its mirror image; labels: int64
    [N, 3] (order of `HEADS`, -1 unknown); grid: the C values each head chooses from. Each fit learns
    from a person's crop and mirror together."""
    n = len(features)
    if mirrored.shape != features.shape or labels.shape != (n, len(GROUPS)):
        raise ValueError(
            f"features {features.shape}, mirrored {mirrored.shape}, labels {labels.shape} disagree"
        )
    if not grid:
        raise InputError("regularisation needs at least one value")
    fold = _folds(n, folds, seed)
    # [C, crop or mirror, person, column]: every grid value's out-of-fold logits.
    logits = np.zeros((len(grid), 2, n, len(OUTPUT_LABELS)), np.float64)
    for g, c in enumerate(grid):
        for f in np.unique(fold):
            train, held = fold != f, fold == f
            heads = fit_heads(
                np.concatenate([features[train], mirrored[train]]), np.concatenate([labels[train]] * 2), c
            )
            logits[g, 0, held] = heads.logits(features[held])
            logits[g, 1, held] = heads.logits(mirrored[held])
    chosen: dict[str, float] = {}
    temperatures: dict[str, float] = {}
    out = np.zeros((2, n, len(OUTPUT_LABELS)), np.float64)
    for h, (name, columns, activation) in enumerate(GROUPS):
        truth = np.concatenate([labels[:, h]] * 2)
        best = (np.inf, 0, 1.0)
        for g in range(len(grid)):
            both = np.concatenate([logits[g, 0][:, columns], logits[g, 1][:, columns]])
            t = temperature(both, truth, activation)
            best = min(best, (_balanced_loss(both / t, truth, activation), g, t))
        _, g, t = best
        chosen[name], temperatures[name] = float(grid[g]), float(t)
        out[:, :, columns] = logits[g][:, :, columns] / t
    final = fit_heads(np.concatenate([features, mirrored]), np.concatenate([labels, labels]), chosen)
    weights, bias = final.weights.astype(np.float64), final.bias.astype(np.float64)
    for name, columns, _ in GROUPS:
        t = temperatures[name] if name in final.trained else 1.0
        temperatures[name] = t
        weights[:, columns] /= t
        bias[columns] /= t
    calibrated = LinearHeads(weights.astype(np.float32), bias.astype(np.float32), final.trained)
    out_of_fold = (activate(out[0]) + activate(out[1])) / 2
    return CrossFitted(calibrated, out_of_fold.astype(np.float32), chosen, temperatures)


def cross_fit_kernel(
    features: npt.NDArray[np.float32],
    mirrored: npt.NDArray[np.float32],
    gender: npt.NDArray[np.int64],
    *,
    c: float = KERNEL_C,
    folds: int = FOLDS,
    seed: int = 0,
) -> tuple[KernelGender | None, npt.NDArray[np.float32]]:
    """The RBF gender head (`kernel.py`) fitted on every training person, its temperature fitted on
    out-of-fold decisions (the same folds as `cross_fit` for the same seed); and each person's calibrated
    out-of-fold P(male), crop and mirror averaged. (None, 0.5 each) when fewer than two genders are labelled.

    features, mirrored: float32 [N, D]; gender: int64 [N] (0 female, 1 male, -1 unknown)."""
    n = len(features)
    if mirrored.shape != features.shape or gender.shape != (n,):
        raise ValueError(
            f"features {features.shape}, mirrored {mirrored.shape}, gender {gender.shape} disagree"
        )
    final = fit_kernel_gender(np.concatenate([features, mirrored]), np.concatenate([gender, gender]), c)
    if final is None:
        return None, np.full(n, 0.5, np.float32)
    fold = _folds(n, folds, seed)
    decisions = np.zeros((2, n), np.float64)  # [crop or mirror, person]
    for f in np.unique(fold):
        train, held = fold != f, fold == f
        machine = fit_kernel_gender(
            np.concatenate([features[train], mirrored[train]]), np.concatenate([gender[train]] * 2), c
        )
        if machine is not None:  # else a fold without both genders: no opinion (decision 0)
            decisions[0, held] = machine.decision(features[held])
            decisions[1, held] = machine.decision(mirrored[held])
    t = decision_temperature(decisions.ravel(), np.concatenate([gender, gender]))
    p_male = (_sigmoid(decisions[0] / t) + _sigmoid(decisions[1] / t)) / 2
    return replace(final, temperature=t), p_male.astype(np.float32)


def _folds(n: int, folds: int, seed: int) -> npt.NDArray[np.intp]:
    """Each person's fold: a seeded deal into min(folds, n) (at least 2) folds of near-equal size."""
    return np.random.default_rng(seed).permutation(n) % max(2, min(folds, n))


def _sigmoid(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return 1.0 / (1.0 + np.exp(-z))


def _balanced_loss(logits: npt.NDArray[np.float64], truth: npt.NDArray[np.int64], activation: str) -> float:
    """Mean negative log-likelihood with each class weighing the same (what the heads are fitted for and
    what balanced accuracy rewards); inf when nothing is labelled."""
    known = truth != UNKNOWN
    if not known.any():
        return float("inf")
    z, y = logits[known], truth[known]
    if activation == "sigmoid":
        loss = np.where(y == 1, np.logaddexp(0, -z[:, 0]), np.logaddexp(0, z[:, 0]))
    else:
        z = z - z.max(axis=1, keepdims=True)
        loss = np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]
    classes, counts = np.unique(y, return_counts=True)
    weight = (1.0 / counts)[np.searchsorted(classes, y)]
    return float((loss * weight).sum() / weight.sum())
