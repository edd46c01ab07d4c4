"""Choosing the abstention thresholds a trained model ships with, on its validation people.

The edge names a gender only when a track's smoothed, calibrated P(male) is at least a margin from 0.5,
and an age group only when its probability reaches a floor. Both are chosen here on the validation people
(never the held-out ones the report measures): the strictest threshold that still names at least
`min_coverage` of the labelled validation people, so the model is as accurate as it can be at the coverage
the operator asked for. The held-out figures then say whether that choice holds on people never seen.
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
) -> Abstention:
    """Thresholds naming at least `min_coverage` of the labelled validation people.

    p_male: float32 [N]; gender: int64 [N] (0 female, 1 male, -1 unknown); age_probabilities: float32
    [N, 3] or None (no age head); age_group: int64 [N]. A head with no labelled validation person keeps
    the edge's default.
    """
    if not 0.0 < min_coverage <= 1.0:
        raise ValueError(f"min_coverage must be in (0, 1], got {min_coverage}")
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
        ok = [f for f in AGE_FLOORS if (best >= f).mean() >= min_coverage]
        floor = float(max(ok)) if ok else float(AGE_FLOORS[0])
    return Abstention(gender_margin=margin, age_min_probability=floor)
