"""Attribute agreement on labelled crops: does the model's reading match what a person labelled?

A model's probabilities are turned into labels exactly as the edge does it (`edge.demographics`:
gender from `male` with its margin, age band from the `age_*` columns); orientation, when the model has
`front`/`back`/`side` columns, is their argmax. A head the model has no columns for predicts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from anonflow.models.crops import HEADS, UNKNOWN

ORIENTATION_LABELS = HEADS["orientation"]


@dataclass(frozen=True, slots=True)
class HeadAgreement:
    """One head over the crops a person labelled: `correct` of `labelled`; `predicted` had a reading."""

    labelled: int
    predicted: int
    correct: int

    @property
    def accuracy(self) -> float:
        """Correct over labelled crops; a crop the model leaves unknown counts as wrong."""
        return self.correct / self.labelled if self.labelled else float("nan")

    @property
    def coverage(self) -> float:
        return self.predicted / self.labelled if self.labelled else float("nan")

    def as_dict(self) -> dict[str, float | int]:
        return {
            "labelled": self.labelled,
            "predicted": self.predicted,
            "correct": self.correct,
            "accuracy": self.accuracy,
            "coverage": self.coverage,
        }


def predicted_classes(
    labels: tuple[str, ...], probabilities: npt.NDArray[np.float32]
) -> npt.NDArray[np.int64]:
    """int64 [N, 3]: class index per head (order of `HEADS`) read from [N, L] probabilities, or -1."""
    from anonflow.edge.demographics import demographics

    out = np.full((len(probabilities), len(HEADS)), UNKNOWN, np.int64)
    has_orientation = all(name in labels for name in ORIENTATION_LABELS)
    columns = [labels.index(name) for name in ORIENTATION_LABELS] if has_orientation else []
    for i, row in enumerate(probabilities):
        reading = demographics(labels, row)
        for h, value in enumerate((reading.gender.value, reading.age_group.value)):
            values = list(HEADS.values())[h]
            out[i, h] = values.index(value) if value in values else UNKNOWN
        if has_orientation:
            out[i, 2] = int(np.argmax(row[columns]))
    return out


def attribute_agreement(
    truth: npt.NDArray[np.int64], predicted: npt.NDArray[np.int64]
) -> dict[str, HeadAgreement]:
    """Per head, over rows whose truth is known: how many the model read, how many it read right."""
    if truth.shape != predicted.shape or truth.shape[1:] != (len(HEADS),):
        raise ValueError(
            f"truth and predicted must both be [N, {len(HEADS)}], got {truth.shape}, {predicted.shape}"
        )
    result = {}
    for h, head in enumerate(HEADS):
        known = truth[:, h] != UNKNOWN
        result[head] = HeadAgreement(
            labelled=int(known.sum()),
            predicted=int((known & (predicted[:, h] != UNKNOWN)).sum()),
            correct=int((known & (predicted[:, h] == truth[:, h])).sum()),
        )
    return result
