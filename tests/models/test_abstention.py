"""The abstention thresholds a trained model ships with: chosen on unseen people's readings for a coverage."""

from __future__ import annotations

import numpy as np
import pytest

from anonflow.edge.demographics import Abstention
from anonflow.models.train.abstention import choose_abstention

P_MALE = np.array([0.955, 0.905, 0.805, 0.705, 0.625, 0.555, 0.445, 0.345, 0.195, 0.045], np.float32)
GENDER = np.array([1, 1, 1, 0, 1, 0, 1, 0, 0, 0], np.int64)
AGES = np.array([[0.1, 0.85, 0.05]] * 6 + [[0.5, 0.45, 0.05]] * 2 + [[0.3, 0.4, 0.3]] * 2, np.float32)
AGE = np.array([1] * 6 + [0, 1, 1, -1], np.int64)


@pytest.mark.parametrize(
    ("min_coverage", "margin", "floor"),
    [
        # Distances from 0.5: .455 .405 .305 .205 .125 .055 .055 .155 .305 .455 (off the 0.01 grid of
        # margins); the strictest margin (and age floor) that keeps at least this share named.
        (1.0, 0.05, 0.4),
        (0.8, 0.12, 0.5),
        (0.5, 0.3, 0.85),
        (0.2, 0.45, 0.85),
    ],
)
def test_strictest_thresholds_that_keep_the_coverage(
    min_coverage: float, margin: float, floor: float
) -> None:
    chosen = choose_abstention(P_MALE, GENDER, AGES, AGE, min_coverage)
    assert chosen == Abstention(gender_margin=margin, age_min_probability=floor)
    named = np.abs(P_MALE - 0.5) >= chosen.gender_margin
    assert named.mean() >= min_coverage


@pytest.mark.parametrize(("age_min_coverage", "floor"), [(None, 0.5), (1.0, 0.4), (0.5, 0.85)])
def test_the_age_group_can_ask_for_its_own_coverage(age_min_coverage: float | None, floor: float) -> None:
    chosen = choose_abstention(P_MALE, GENDER, AGES, AGE, 0.8, age_min_coverage=age_min_coverage)
    assert chosen == Abstention(gender_margin=0.12, age_min_probability=floor)


def test_a_head_without_labels_or_outputs_keeps_the_edge_default() -> None:
    unknown = np.full(10, -1, np.int64)
    assert choose_abstention(P_MALE, unknown, None, unknown, 0.7) == Abstention()


@pytest.mark.parametrize(
    ("coverages", "error"),
    [
        ((0.0, None), "min_coverage must be"),
        ((0.8, 0.0), "age_min_coverage must be"),
        ((1.2, 0.8), "min_coverage"),
    ],
)
def test_coverage_must_be_a_share(coverages: tuple[float, float | None], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        choose_abstention(P_MALE, GENDER, AGES, AGE, coverages[0], age_min_coverage=coverages[1])
