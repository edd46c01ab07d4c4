"""From smoothed attribute probabilities to the entry's coarse demographic labels."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from anonflow.contract.entry import AGE_GROUP_OF_BAND, AgeBand, AgeGroup, Demographics, Gender
from anonflow.contract.errors import ModelFileError

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


@dataclass(frozen=True, slots=True)
class Abstention:
    """When a smoothed reading is confident enough to name: gender when P(male) is at least
    `gender_margin` from 0.5, an age band or group when its probability reaches `age_min_probability`.

    The defaults serve a model shipped without validation figures; a trained model's sidecar carries the
    thresholds chosen on its validation people (`details.abstention`), which the edge reads instead.
    """

    gender_margin: float = GENDER_MARGIN
    age_min_probability: float = AGE_MIN_PROBABILITY

    def __post_init__(self) -> None:
        if not 0.0 <= self.gender_margin < 0.5:
            raise ValueError(f"gender_margin must be in [0, 0.5), got {self.gender_margin}")
        if not 0.0 <= self.age_min_probability <= 1.0:
            raise ValueError(f"age_min_probability must be in [0, 1], got {self.age_min_probability}")


DEFAULT_ABSTENTION = Abstention()


def abstention_of(details: dict[str, object], source: str) -> Abstention:
    """The thresholds a trained model's sidecar records under `abstention` (defaults when it has none);
    ModelFileError naming `source` when they are malformed or out of range."""
    raw = details.get("abstention")
    if raw is None:
        return DEFAULT_ABSTENTION
    try:
        if not isinstance(raw, dict) or set(raw) != {"gender_margin", "age_min_probability"}:
            raise ValueError("expected exactly gender_margin and age_min_probability")
        return Abstention(float(raw["gender_margin"]), float(raw["age_min_probability"]))
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{source}: abstention thresholds {raw!r} are not usable: {error}") from None


def demographics(
    labels: tuple[str, ...],
    probabilities: npt.NDArray[np.float32],
    abstention: Abstention = DEFAULT_ABSTENTION,
) -> Demographics:
    """Gender and age labels for one person. probabilities: float32 [L], named by `labels`.

    Age: the band when a band reading is confident (its group follows from it); else the group, read
    directly or summed over the bands of each group; else unknown.
    """
    named = attribute_probabilities(labels, probabilities)
    gender = Gender.UNKNOWN
    if "male" in named:
        # An exactly even reading is no opinion, whatever the margin.
        if named["male"] >= 0.5 + abstention.gender_margin and named["male"] > 0.5:
            gender = Gender.MALE
        elif named["male"] <= 0.5 - abstention.gender_margin and named["male"] < 0.5:
            gender = Gender.FEMALE
    bands = {AGE_LABELS[name]: p for name, p in named.items() if name in AGE_LABELS}
    groups: dict[AgeGroup, float] = {
        AGE_GROUP_LABELS[name]: p for name, p in named.items() if name in AGE_GROUP_LABELS
    }
    if bands:
        best_band = max(bands, key=lambda band: bands[band])
        if bands[best_band] >= abstention.age_min_probability:
            return Demographics(gender=gender, age_group=AGE_GROUP_OF_BAND[best_band], age_band=best_band)
        if not groups:
            for band, p in bands.items():
                group = AGE_GROUP_OF_BAND[band]
                groups[group] = groups.get(group, 0.0) + p
    age_group = AgeGroup.UNKNOWN
    if groups:
        best_group = max(groups, key=lambda group: groups[group])
        if groups[best_group] >= abstention.age_min_probability:
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
