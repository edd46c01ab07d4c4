"""Choosing the abstention thresholds a trained model ships with, on readings of people it never saw.

The edge names a gender only when a track's smoothed, calibrated P(male) is at least a margin from 0.5,
and an age group only when its probability reaches a floor. Both are chosen here on the training people's
out-of-fold readings (`crossfit.py`; never the held-out people the report measures): the strictest
threshold that still names at least `min_coverage` of the labelled people, so the model is as accurate as
it can be at the coverage the operator asked for. The held-out figures then say whether that choice holds
on people never seen.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from anonflow.edge.demographics import AGE_MIN_PROBABILITY, GENDER_MARGIN, Abstention
from anonflow.models.crops import UNKNOWN

GENDER_MARGINS: Final = np.round(np.arange(0.0, 0.5, 0.01), 2)
# Below 0.4 a three-way softmax close to even would name a group: an undecided head must stay unknown.
AGE_FLOORS: Final = np.round(np.arange(0.4, 1.0, 0.01), 2)


def choose_abstention(
    p_male: npt.NDArray[np.float32],
    gender: npt.NDArray[np.int64],
    age_probabilities: npt.NDArray[np.float32] | None,
    age_group: npt.NDArray[np.int64],
    min_coverage: float,
    *,
    age_min_coverage: float | None = None,
) -> Abstention:
    """Thresholds naming at least `min_coverage` of the labelled people's genders and `age_min_coverage`
    (default: the same) of their age groups.

    p_male: float32 [N]; gender: int64 [N] (0 female, 1 male, -1 unknown); age_probabilities: float32
    [N, 3] or None (no age head); age_group: int64 [N]. A head with no labelled person keeps
    the edge's default.
    """
    age_min_coverage = min_coverage if age_min_coverage is None else age_min_coverage
    for name, value in (("min_coverage", min_coverage), ("age_min_coverage", age_min_coverage)):
        if not 0.0 < value <= 1.0:
            raise ValueError(f"{name} must be in (0, 1], got {value}")
    margin = GENDER_MARGIN
    known = gender != UNKNOWN
    if known.any():
        distance = np.abs(p_male[known] - 0.5)
        ok = [m for m in GENDER_MARGINS if (distance >= m).mean() >= min_coverage]
        margin = float(max(ok)) if ok else 0.0
    floor = AGE_MIN_PROBABILITY
    known = age_group != UNKNOWN
    if age_probabilities is not None and known.any():
        best = age_probabilities[known].max(axis=1)
        ok = [f for f in AGE_FLOORS if (best >= f).mean() >= age_min_coverage]
        floor = float(max(ok)) if ok else float(AGE_FLOORS[0])
    return Abstention(gender_margin=margin, age_min_probability=floor)
