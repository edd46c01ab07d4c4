"""From smoothed attribute probabilities to the entry's demographic labels."""

from __future__ import annotations

import numpy as np
import pytest

from anonflow.contract.entry import AgeBand, AgeGroup, Gender
from anonflow.contract.errors import ModelFileError
from anonflow.edge.demographics import (
    AGE_LABELS,
    Abstention,
    abstention_of,
    attribute_probabilities,
    demographics,
)

OMZ = ("male", "bag", "backpack", "hat", "long_sleeves", "long_pants", "long_hair", "coat_jacket")
HEADFREE = ("male", "age_0_17", "age_18_34", "age_35_54", "age_55_plus", "front", "back", "side")


@pytest.mark.parametrize(
    ("male", "gender"),
    [
        (0.95, Gender.MALE),
        (0.6, Gender.MALE),  # 0.5 + margin 0.1 is enough
        (0.59, Gender.UNKNOWN),
        (0.5, Gender.UNKNOWN),
        (0.41, Gender.UNKNOWN),
        (0.4, Gender.FEMALE),
        (0.02, Gender.FEMALE),
    ],
)
def test_gender_needs_a_clear_margin(male: float, gender: Gender) -> None:
    probabilities = np.array([male, 0.1, 0.1, 0.1, 0.9, 0.9, 0.1, 0.2], np.float32)
    reading = demographics(OMZ, probabilities)
    assert reading.gender is gender
    assert reading.age_group is AgeGroup.UNKNOWN and reading.age_band is None  # this model reads no age


@pytest.mark.parametrize(
    ("ages", "group", "band"),
    [
        ((0.7, 0.1, 0.1, 0.1), AgeGroup.CHILD, AgeBand.CHILD),
        ((0.1, 0.6, 0.2, 0.1), AgeGroup.ADULT, AgeBand.YOUNG),
        ((0.1, 0.2, 0.6, 0.1), AgeGroup.ADULT, AgeBand.MIDDLE),
        ((0.05, 0.05, 0.1, 0.8), AgeGroup.SENIOR, AgeBand.SENIOR),
        # No band is sure, but two adult bands together are: the group without the band.
        ((0.1, 0.35, 0.35, 0.2), AgeGroup.ADULT, None),
        ((0.3, 0.2, 0.2, 0.3), AgeGroup.UNKNOWN, None),
    ],
)
def test_age_band_and_its_group(ages: tuple[float, ...], group: AgeGroup, band: AgeBand | None) -> None:
    probabilities = np.array([0.5, *ages, 0.3, 0.3, 0.4], np.float32)
    reading = demographics(HEADFREE, probabilities)
    assert (reading.age_group, reading.age_band) == (group, band)
    assert reading.gender is Gender.UNKNOWN


@pytest.mark.parametrize(
    ("ages", "group"),
    [
        ((0.8, 0.1, 0.1), AgeGroup.CHILD),
        ((0.1, 0.7, 0.2), AgeGroup.ADULT),
        ((0.3, 0.4, 0.3), AgeGroup.UNKNOWN),
    ],
)
def test_a_group_model_reads_groups_only(ages: tuple[float, ...], group: AgeGroup) -> None:
    reading = demographics(("age_child", "age_adult", "age_senior"), np.array(ages, np.float32))
    assert (reading.age_group, reading.age_band) == (group, None)


def test_age_labels_name_every_band() -> None:
    expected = {
        "age_0_17": AgeBand.CHILD,
        "age_18_34": AgeBand.YOUNG,
        "age_35_54": AgeBand.MIDDLE,
        "age_55_plus": AgeBand.SENIOR,
    }
    assert {name: AGE_LABELS[name] for name in expected} == expected


def test_attributes_are_named_and_rounded() -> None:
    probabilities = np.array([0.123456, 0.5, 0.0, 1.0, 0.9999, 0.3333, 0.25, 0.75], np.float32)
    named = attribute_probabilities(OMZ, probabilities)
    assert list(named) == list(OMZ)
    assert named["male"] == 0.123
    assert named["long_sleeves"] == 1.0
    assert named["long_pants"] == 0.333


@pytest.mark.parametrize(
    ("labels", "probabilities", "error"),
    [(OMZ, np.zeros(7, np.float32), ValueError), (("no such",), np.zeros(1, np.float32), ValueError)],
)
def test_bad_readings_are_refused(labels: tuple[str, ...], probabilities: np.ndarray, error: type) -> None:
    with pytest.raises(error):
        demographics(labels, probabilities)


def test_a_model_without_gender_gives_unknown() -> None:
    reading = demographics(("bag", "hat"), np.array([0.9, 0.1], np.float32))
    assert reading.gender is Gender.UNKNOWN and reading.age_group is AgeGroup.UNKNOWN


GROUPS = ("male", "age_child", "age_adult", "age_senior")


@pytest.mark.parametrize(
    ("abstention", "reading", "gender", "group"),
    [
        (Abstention(), (0.65, 0.1, 0.55, 0.35), Gender.MALE, AgeGroup.ADULT),
        # A trained model's own thresholds, chosen on its validation people, are stricter ...
        (Abstention(0.2, 0.6), (0.65, 0.1, 0.55, 0.35), Gender.UNKNOWN, AgeGroup.UNKNOWN),
        (Abstention(0.2, 0.6), (0.25, 0.05, 0.65, 0.3), Gender.FEMALE, AgeGroup.ADULT),
        # ... or looser; an exactly even reading is still no opinion.
        (Abstention(0.02, 0.4), (0.53, 0.2, 0.45, 0.35), Gender.MALE, AgeGroup.ADULT),
        (Abstention(0.0, 0.4), (0.5, 0.2, 0.45, 0.35), Gender.UNKNOWN, AgeGroup.ADULT),
    ],
)
def test_the_models_abstention_thresholds_decide_what_is_named(
    abstention: Abstention, reading: tuple[float, ...], gender: Gender, group: AgeGroup
) -> None:
    result = demographics(GROUPS, np.array(reading, np.float32), abstention)
    assert (result.gender, result.age_group) == (gender, group)


@pytest.mark.parametrize(
    ("details", "expected", "error"),
    [
        ({}, Abstention(), None),
        ({"abstention": {"gender_margin": 0.17, "age_min_probability": 0.62}}, Abstention(0.17, 0.62), None),
        ({"abstention": {"gender_margin": 0.5, "age_min_probability": 0.6}}, None, "gender_margin must be"),
        ({"abstention": {"gender_margin": 0.1, "age_min_probability": 1.5}}, None, "age_min_probability"),
        ({"abstention": {"gender_margin": 0.1}}, None, "expected exactly"),
        ({"abstention": {"gender_margin": "x", "age_min_probability": 0.5}}, None, "not usable"),
        ({"abstention": [0.1, 0.5]}, None, "not usable"),
    ],
)
def test_abstention_from_a_sidecar(
    details: dict[str, object], expected: Abstention | None, error: str | None
) -> None:
    if error is None:
        assert abstention_of(details, "sidecar of m.onnx") == expected
    else:
        with pytest.raises(ModelFileError, match=error) as caught:
            abstention_of(details, "sidecar of m.onnx")
        assert str(caught.value).startswith("sidecar of m.onnx: ") and "\n" not in str(caught.value)
