"""Linear heads over backbone features: gender, age group and orientation, fitted with scikit-learn.

Why start from linear heads on the frozen backbone: the labelled crop sets a store or chain gathers are
hundreds to a few thousand crops. A strongly regularised logistic regression on the attribute network's
pooled features trains in seconds on a CPU and exports as one matrix product; the backbone already
separates clothing, build and silhouette, and the heads learn what of that predicts each label *without
the head in view*. Fine-tuning (`finetune.py`) starts from these heads and keeps their penalty; on about
1,000 PA-100K people it rarely lowers the validation loss (early stopping kept the network as shipped on
two of three splits). The shipped heads are fitted again on every training person (`crossfit.py`).

Output columns (the manifest's `headfree-demographics` labels, in order): `male` (sigmoid: P(male)),
`age_child`, `age_adult`, `age_senior` (softmax: the age groups a body can tell), `front`, `back`,
`side` (softmax).
A head with fewer than two labelled classes is left untrained: its columns are uniform (no opinion,
which the edge reads as unknown); a class never labelled gets a very low probability.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from anonflow.contract.errors import InputError
from anonflow.models.crops import HEADS, UNKNOWN

AGE_COLUMNS: Final = tuple("age_" + group for group in HEADS["age_group"])
OUTPUT_LABELS: Final[tuple[str, ...]] = ("male", *AGE_COLUMNS, *HEADS["orientation"])
# Column slices of each head in the output, and how its logits become probabilities.
GROUPS: Final[tuple[tuple[str, slice, str], ...]] = (
    ("gender", slice(0, 1), "sigmoid"),
    ("age_group", slice(1, 1 + len(AGE_COLUMNS)), "softmax"),
    ("orientation", slice(1 + len(AGE_COLUMNS), len(OUTPUT_LABELS)), "softmax"),
)
Regularisation = float | Mapping[str, float]  # scikit-learn's C: one for all heads, or per head name
ABSENT_CLASS_LOGIT: Final = -30.0  # a class nobody labelled: ~1e-13 after softmax, never chosen


@dataclass(frozen=True, slots=True)
class LinearHeads:
    """probabilities = activation per group of (features @ weights + bias).

    weights: float32 [D, 7], bias: float32 [7], columns named `OUTPUT_LABELS`; the feature
    standardisation is folded in. trained: the heads that had two or more labelled classes.
    """

    weights: npt.NDArray[np.float32]
    bias: npt.NDArray[np.float32]
    trained: tuple[str, ...]

    def __post_init__(self) -> None:
        k = len(OUTPUT_LABELS)
        if self.weights.ndim != 2 or self.weights.shape[1] != k or self.bias.shape != (k,):
            raise ValueError(
                f"weights must be [D, {k}] and bias [{k}], got {self.weights.shape}, {self.bias.shape}"
            )

    def __call__(self, features: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """float32 [N, 7] probabilities of float32 [N, D] features (what the exported graph computes)."""
        return activate(self.logits(features))

    def logits(self, features: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """float32 [N, 7]: the heads' logits before each group's activation."""
        return features.astype(np.float32) @ self.weights + self.bias


def activate(logits: npt.NDArray[np.floating]) -> npt.NDArray[np.floating]:
    """[N, 7] probabilities of [N, 7] logits: a sigmoid or softmax per head, as the exported graph does."""
    out = np.empty_like(logits)
    for _, columns, activation in GROUPS:
        z = logits[:, columns]
        if activation == "sigmoid":
            out[:, columns] = 1.0 / (1.0 + np.exp(-z))
        else:
            e = np.exp(z - z.max(axis=1, keepdims=True))
            out[:, columns] = e / e.sum(axis=1, keepdims=True)
    return out


def strength(regularisation: Regularisation, head: str) -> float:
    """The C of `head`: one value for every head, or one per head name (every head named)."""
    value = regularisation if isinstance(regularisation, int | float) else regularisation.get(head)
    if value is None:
        raise InputError(f"no regularisation for the {head} head")
    if not 1e-6 <= value <= 1e6:
        raise InputError(f"regularisation must be in [1e-6, 1e6], got {value}")
    return float(value)


def head_penalty(
    features: npt.NDArray[np.float32], labels: npt.NDArray[np.int64], regularisation: Regularisation
) -> npt.NDArray[np.float32]:
    """float32 [D, 7]: per weight, the L2 coefficient that keeps `fit_heads`' penalty during fine-tuning.

    The logistic regression minimises C * sum(balanced loss) + |W_standardised|^2 / 2; divided by C * N it
    is the mean balanced loss (what fine-tuning minimises) plus |W_standardised|^2 / (2 C N). The folded
    weights are W_standardised / scale, so each weight's coefficient is scale^2 / (2 C N_head). Without it
    the heads, free of any penalty, overfit the training people within an epoch.
    """
    scale = features.std(axis=0)
    scale = np.where(scale > 1e-6, scale, 1.0).astype(np.float64)
    out = np.zeros((features.shape[1], len(OUTPUT_LABELS)), np.float64)
    for h, (head, columns, _) in enumerate(GROUPS):
        n = int((labels[:, h] != UNKNOWN).sum())
        if n:
            out[:, columns] = (scale**2 / (2 * strength(regularisation, head) * n))[:, None]
    return out.astype(np.float32)


def from_parent_gender(heads: LinearHeads, feature: int) -> LinearHeads:
    """`heads` with the gender head replaced by the parent network's own reading: P(male) = sigmoid of
    feature `feature` (the parent's gender logit, `graph.PARENT_GENDER_FEATURE`), every other weight 0.

    Why: on a few thousand head-free crops a gender head fitted on frozen features starts below the
    shipped network (which learnt from far more people); starting from its reading, fine-tuning can only
    move away from it where the training crops say so. An untrained gender head (too few labels) stays so.
    """
    if "gender" not in heads.trained:
        return heads
    if not 0 <= feature < heads.weights.shape[0]:
        raise ValueError(f"feature {feature} is not one of the {heads.weights.shape[0]} features")
    column = GROUPS[0][1].start
    weights, bias = heads.weights.copy(), heads.bias.copy()
    weights[:, column], bias[column] = 0.0, 0.0
    weights[feature, column] = 1.0
    return LinearHeads(weights=weights, bias=bias, trained=heads.trained)


def fit_heads(
    features: npt.NDArray[np.float32], labels: npt.NDArray[np.int64], regularisation: Regularisation
) -> LinearHeads:
    """Fit one L2-regularised logistic regression per head on the rows where that head is labelled.

    features: float32 [N, D]; labels: int64 [N, 3], class index per head (order of `HEADS`) or -1.
    regularisation: scikit-learn's C (inverse strength), one for every head or one per head name;
    classes are weighted to balance.
    """
    from sklearn.linear_model import LogisticRegression

    for head, _, _ in GROUPS:
        strength(regularisation, head)
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale = np.where(scale > 1e-6, scale, 1.0)
    standard = (features - mean) / scale
    d = features.shape[1]
    weights = np.zeros((d, len(OUTPUT_LABELS)), np.float64)
    bias = np.zeros(len(OUTPUT_LABELS), np.float64)
    trained = []
    for h, (head, columns, activation) in enumerate(GROUPS):
        known = labels[:, h] != UNKNOWN
        present = np.unique(labels[known, h])
        if len(present) < 2:
            continue
        model = LogisticRegression(C=strength(regularisation, head), class_weight="balanced", max_iter=2000)
        model.fit(standard[known], labels[known, h])
        coef, intercept = model.coef_, model.intercept_
        cols = np.arange(columns.start, columns.stop)
        if activation == "sigmoid":  # the gender head: one column, P(class 1 = male)
            weights[:, cols[0]], bias[cols[0]] = coef[0], intercept[0]
            trained.append(head)
            continue
        bias[cols] = ABSENT_CLASS_LOGIT
        if len(present) == 2:  # binary: logit(class b) - logit(class a) = coef
            weights[:, cols[present[1]]], bias[cols[present[1]]] = coef[0], intercept[0]
            bias[cols[present[0]]] = 0.0
        else:
            for row, cls in enumerate(present):
                weights[:, cols[cls]], bias[cols[cls]] = coef[row], intercept[row]
        trained.append(head)
    # Fold the standardisation in: (x - m) / s @ W + b = x @ (W / s) + (b - (m / s) @ W).
    folded = weights / scale[:, None]
    return LinearHeads(
        weights=folded.astype(np.float32),
        bias=(bias - (mean / scale) @ weights).astype(np.float32),
        trained=tuple(trained),
    )
