"""From smoothed attribute probabilities to the entry's coarse demographic labels."""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

from anonflow.contract.entry import AGE_GROUP_OF_BAND, AgeBand, AgeGroup, Demographics, Gender

_LABEL = re.compile(r"[a-z][a-z0-9_]{0,31}")
# Below this distance from 0.5 the gender reading is too weak to label.
GENDER_MARGIN = 0.1
# Models trained on anonymous crops may add one probability per age band, named `age_<band>` (the finer
# reading a customer-trained model may support) ...
AGE_LABELS: dict[str, AgeBand] = {
    f"age_{band.value.replace('-', '_').replace('+', '_plus')}": band
    for band in AgeBand
    if band is not AgeBand.UNKNOWN
}
# ... or one per age group (what a head-free body can tell: build and height).
AGE_GROUP_LABELS: dict[str, AgeGroup] = {
    f"age_{group.value}": group for group in AgeGroup if group is not AgeGroup.UNKNOWN
}
# A label is named only when its probability clearly beats an even spread; an untrained or undecided
# head (near-uniform output) reads as unknown, not as its first class.
AGE_MIN_PROBABILITY = 0.5


def demographics(labels: tuple[str, ...], probabilities: npt.NDArray[np.float32]) -> Demographics:
    """Gender and age labels for one person. probabilities: float32 [L], named by `labels`.

    Age: the band when a band reading is confident (its group follows from it); else the group, read
    directly or summed over the bands of each group; else unknown.
    """
    named = attribute_probabilities(labels, probabilities)
    gender = Gender.UNKNOWN
    if "male" in named:
        if named["male"] >= 0.5 + GENDER_MARGIN:
            gender = Gender.MALE
        elif named["male"] <= 0.5 - GENDER_MARGIN:
            gender = Gender.FEMALE
    bands = {AGE_LABELS[name]: p for name, p in named.items() if name in AGE_LABELS}
    groups: dict[AgeGroup, float] = {
        AGE_GROUP_LABELS[name]: p for name, p in named.items() if name in AGE_GROUP_LABELS
    }
    if bands:
        best_band = max(bands, key=lambda band: bands[band])
        if bands[best_band] >= AGE_MIN_PROBABILITY:
            return Demographics(gender=gender, age_group=AGE_GROUP_OF_BAND[best_band], age_band=best_band)
        if not groups:
            for band, p in bands.items():
                group = AGE_GROUP_OF_BAND[band]
                groups[group] = groups.get(group, 0.0) + p
    age_group = AgeGroup.UNKNOWN
    if groups:
        best_group = max(groups, key=lambda group: groups[group])
        if groups[best_group] >= AGE_MIN_PROBABILITY:
            age_group = best_group
    return Demographics(gender=gender, age_group=age_group)


def attribute_probabilities(
    labels: tuple[str, ...], probabilities: npt.NDArray[np.float32]
) -> dict[str, float]:
    """The probabilities by label, rounded to 0.001 (research entries only carry them)."""
    bad = [name for name in labels if not _LABEL.fullmatch(name)]
    if bad:
        raise ValueError(f"attribute labels must match {_LABEL.pattern}, got {bad}")
    return {name: round(float(p), 3) for name, p in zip(labels, probabilities, strict=True)}
