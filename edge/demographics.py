"""From smoothed attribute probabilities to the entry's coarse demographic labels."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from anonflow.contract.entry import AgeBand, Demographics, Gender

# Below this distance from 0.5 the gender reading is too weak to label.
GENDER_MARGIN = 0.1
# Models trained on anonymous crops may add one probability per age band, named `age_<band>`.
AGE_LABELS = {f"age_{band.value.replace('-', '_').replace('+', '_plus')}": band for band in AgeBand}
# An age band is named only when its probability clearly beats an even spread over the bands; an
# untrained or undecided head (near-uniform output) reads as unknown, not as its first band.
AGE_MIN_PROBABILITY = 0.5


def demographics(labels: tuple[str, ...], probabilities: npt.NDArray[np.float32]) -> Demographics:
    """Labels and rounded probabilities for one person. probabilities: float32 [L], named by `labels`."""
    named = {name: round(float(p), 3) for name, p in zip(labels, probabilities, strict=True)}
    gender = Gender.UNKNOWN
    if "male" in named:
        if named["male"] >= 0.5 + GENDER_MARGIN:
            gender = Gender.MALE
        elif named["male"] <= 0.5 - GENDER_MARGIN:
            gender = Gender.FEMALE
    ages = {AGE_LABELS[name]: p for name, p in named.items() if name in AGE_LABELS}
    age_band = AgeBand.UNKNOWN
    if ages:
        best = max(ages, key=lambda band: ages[band])
        if ages[best] >= AGE_MIN_PROBABILITY:
            age_band = best
    return Demographics(gender=gender, age_band=age_band, attributes=named)
