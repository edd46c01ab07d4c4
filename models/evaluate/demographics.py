"""Head-free demographics measured honestly: accuracy of what is named, next to how much is named.

Gender: a crop is named when P(male) is at least `margin` from 0.5; accuracy is over named crops and
coverage is named over labelled. The coverage/accuracy curve sweeps the margin. Age group: the argmax
group, named when its probability reaches `min_probability`; balanced accuracy is the mean per-class
recall over named crops (the rare child and senior groups count as much as adults). Every figure is also
given per labelled orientation (front/side/back).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

from anonflow.models.crops import HEADS, UNKNOWN

CURVE_MARGINS: Final = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45)
AGE_COLUMNS: Final = tuple("age_" + g for g in HEADS["age_group"])


def gender_figures(
    p_male: npt.NDArray[np.float32], truth: npt.NDArray[np.int64], margin: float
) -> dict[str, Any]:
    """accuracy (over named), coverage (named / labelled), named and labelled counts."""
    known = truth != UNKNOWN
    named = known & (np.abs(p_male - 0.5) >= margin) & (np.abs(p_male - 0.5) > 0)
    correct = named & ((p_male >= 0.5).astype(np.int64) == truth)
    return {
        "margin": margin,
        "labelled": int(known.sum()),
        "named": int(named.sum()),
        "coverage": float(named.sum() / known.sum()) if known.any() else float("nan"),
        "accuracy": float(correct.sum() / named.sum()) if named.any() else float("nan"),
    }


def at_coverage(
    p_male: npt.NDArray[np.float32], truth: npt.NDArray[np.int64], coverage: float, step: float = 0.01
) -> dict[str, Any]:
    """The curve's point at a coverage target: `gender_figures` at the strictest margin (a multiple of
    `step`) that still names at least `coverage` of the labelled; margin 0 when none does.

    Why: a target such as "82 % accuracy for 70 % of people" falls between the coarse curve's points.
    """
    if not 0.0 < coverage <= 1.0:
        raise ValueError(f"coverage must be in (0, 1], got {coverage}")
    best = gender_figures(p_male, truth, 0.0)
    for margin in np.round(np.arange(step, 0.5, step), 4):
        point = gender_figures(p_male, truth, float(margin))
        if not point["coverage"] >= coverage:
            break
        best = point
    return best


def age_figures(
    probabilities: npt.NDArray[np.float32], truth: npt.NDArray[np.int64], min_probability: float
) -> dict[str, Any]:
    """balanced accuracy over named crops (mean recall of the classes present), coverage."""
    known = truth != UNKNOWN
    best = probabilities.argmax(axis=1)
    named = known & (probabilities.max(axis=1) >= min_probability)
    recalls = [
        float((best[named & (truth == c)] == c).mean())
        for c in np.unique(truth[named])
        if (named & (truth == c)).any()
    ]
    return {
        "labelled": int(known.sum()),
        "named": int(named.sum()),
        "coverage": float(named.sum() / known.sum()) if known.any() else float("nan"),
        "balanced_accuracy": float(np.mean(recalls)) if recalls else float("nan"),
    }


def measure(
    labels: tuple[str, ...],
    probabilities: npt.NDArray[np.float32],
    truth: npt.NDArray[np.int64],
    *,
    gender_margin: float = 0.1,
    age_min_probability: float = 0.5,
) -> dict[str, Any]:
    """The figures of one model on one set of crops. probabilities: [N, L] named by `labels`;
    truth: int64 [N, 3] (gender, age group, orientation class or -1)."""
    out: dict[str, Any] = {}
    orientation = truth[:, 2]
    groups = {"all": np.ones(len(truth), bool)} | {
        name: orientation == i for i, name in enumerate(HEADS["orientation"])
    }
    for group, rows in groups.items():
        entry: dict[str, Any] = {}
        if "male" in labels:
            p = probabilities[rows, labels.index("male")]
            entry["gender"] = gender_figures(p, truth[rows, 0], gender_margin)
            if group == "all":
                entry["gender_curve"] = [gender_figures(p, truth[rows, 0], m) for m in CURVE_MARGINS]
        if all(c in labels for c in AGE_COLUMNS):
            cols = [labels.index(c) for c in AGE_COLUMNS]
            entry["age_group"] = age_figures(
                probabilities[np.ix_(rows, cols)], truth[rows, 1], age_min_probability
            )
        out[group] = entry
    return out
