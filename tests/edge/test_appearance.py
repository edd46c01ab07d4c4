"""The appearance template and its SimHash group id, on synthetic colour crops."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from anonflow.edge.appearance import (
    ACCESSORIES,
    COLOUR_BINS,
    HUE_BINS,
    TEMPLATE_SIZE,
    DailyKeys,
    colour_histograms,
    day_key,
    group_ids,
    templates,
)

# BGR colours and the bin each falls in: 6 hue bins of 30 OpenCV hue units, then dark, grey, light.
RED, GREEN, BLUE = (0, 0, 220), (0, 200, 0), (220, 0, 0)
YELLOW, MAGENTA = (0, 220, 220), (220, 0, 220)
BLACK, GREY, WHITE = (20, 20, 20), (128, 128, 128), (240, 240, 240)
DARK, MID, LIGHT = HUE_BINS, HUE_BINS + 1, HUE_BINS + 2


def crop(top: tuple[int, int, int], legs: tuple[int, int, int]) -> np.ndarray:
    """A 160x80 crop: upper half one colour, lower half another."""
    image = np.empty((160, 80, 3), np.uint8)
    image[:80] = top
    image[80:] = legs
    return image


@pytest.mark.parametrize(
    ("colour", "bin_"),
    [(RED, 0), (YELLOW, 1), (GREEN, 2), (BLUE, 4), (MAGENTA, 5), (BLACK, DARK), (GREY, MID), (WHITE, LIGHT)],
)
def test_a_plain_colour_fills_one_bin(colour: tuple[int, int, int], bin_: int) -> None:
    histogram = colour_histograms(crop(colour, colour)[None])[0]
    expected = np.zeros(COLOUR_BINS, np.float32)
    expected[bin_] = 1.0
    np.testing.assert_allclose(histogram[:COLOUR_BINS], expected)  # torso band
    np.testing.assert_allclose(histogram[COLOUR_BINS:], expected)  # legs band


def test_torso_and_legs_are_read_from_their_own_bands() -> None:
    histogram = colour_histograms(crop(RED, BLUE)[None])[0]
    assert histogram[0] == 1.0 and histogram[COLOUR_BINS + 4] == 1.0
    assert histogram.sum() == pytest.approx(2.0)


def test_mixed_band_is_normalised() -> None:
    image = crop(RED, RED)
    image[:, 40:] = GREEN  # the torso band's centre half is now half red, half green
    histogram = colour_histograms(image[None])[0]
    assert histogram[0] == pytest.approx(0.5) and histogram[2] == pytest.approx(0.5)


def test_no_crops() -> None:
    assert colour_histograms(np.zeros((0, 160, 80, 3), np.uint8)).shape == (0, 2 * COLOUR_BINS)


def test_template_appends_accessory_probabilities_and_half_when_unknown() -> None:
    labels = ("male", "bag", "hat")
    probabilities = np.array([[0.9, 0.8, 0.1]], np.float32)
    template = templates(crop(RED, BLUE)[None], labels, probabilities)
    assert template.shape == (1, TEMPLATE_SIZE)
    flags = dict(zip(ACCESSORIES, template[0, 2 * COLOUR_BINS :], strict=True))
    assert flags["bag"] == pytest.approx(0.8) and flags["hat"] == pytest.approx(0.1)
    assert flags["backpack"] == 0.5 and flags["long_pants"] == 0.5


def _template(top: tuple[int, int, int], legs: tuple[int, int, int], bag: float = 0.5) -> np.ndarray:
    return templates(crop(top, legs)[None], ("bag",), np.array([[bag]], np.float32))


@pytest.mark.parametrize("groups", [16, 100, 1000, 1024, 65_536])
def test_group_ids_are_stable_and_in_range(groups: int) -> None:
    rng = np.random.default_rng(3)
    many = rng.random((200, TEMPLATE_SIZE), dtype=np.float32)
    ids = group_ids(many, groups, KEY)
    assert ids.dtype == np.int64 and ids.shape == (200,)
    assert ((ids >= 0) & (ids < groups)).all()
    np.testing.assert_array_equal(group_ids(many.copy(), groups, KEY), ids)  # same template, same group
    assert len(set(ids.tolist())) > 1  # not everyone in one bucket


def test_identical_templates_share_a_group_and_very_different_ones_do_not() -> None:
    red_red = _template(RED, RED)
    assert group_ids(np.vstack([red_red, red_red]), 1000, KEY).tolist()[0] == group_ids(red_red, 1000, KEY)[0]
    outfits = [
        _template(RED, BLACK),
        _template(BLUE, WHITE),
        _template(GREEN, YELLOW),
        _template(WHITE, BLUE),
    ]
    ids = group_ids(np.vstack(outfits), 1000, KEY).tolist()
    assert len(set(ids)) == len(outfits), ids


def test_small_changes_mostly_keep_the_group() -> None:
    """Locality: a few percent of the pixels changing colour rarely moves a template to another group."""
    rng = np.random.default_rng(5)
    base = rng.dirichlet(np.ones(COLOUR_BINS), size=(300, 2)).reshape(300, -1)
    flags = rng.random((300, len(ACCESSORIES)))
    template = np.hstack([base, flags]).astype(np.float32)
    nudged = template + np.asarray(rng.normal(0, 0.01, template.shape), np.float32)
    same = float(np.mean(group_ids(template, 1000, KEY) == group_ids(nudged, 1000, KEY)))
    assert same > 0.7


def test_wrong_template_shape_is_refused() -> None:
    with pytest.raises(ValueError, match=rf"template must have shape \[N, {TEMPLATE_SIZE}\], got \[3\]"):
        group_ids(np.zeros(3, np.float32), 1000, KEY)


def test_every_process_draws_the_same_hyperplanes() -> None:
    """Gateways of a store bucket alike on a day only if the hyperplanes do not depend on the process."""
    rng = np.random.default_rng(11)
    many = rng.random((50, TEMPLATE_SIZE), dtype=np.float32)
    code = (
        "import json, sys, numpy as np\n"
        "from anonflow.edge.appearance import DailyKeys, group_ids\n"
        "t = np.array(json.load(sys.stdin), np.float32)\n"
        "key = DailyKeys(b'store-secret-0123456789', 'store-1', 'Europe/Berlin')(1_795_255_200_000)\n"
        "print(json.dumps(group_ids(t, 1000, key).tolist()))\n"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(many.tolist()),
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    key = DailyKeys(SECRET, "store-1", "Europe/Berlin")(1_795_255_200_000)
    assert json.loads(other.stdout) == group_ids(many, 1000, key).tolist()


SECRET = b"store-secret-0123456789"
KEY = day_key(SECRET, "store-1", date(2026, 11, 21))
NOON_MS = 1_795_258_800_000  # 2026-11-21 09:00 UTC, 10:00 in Berlin


def _share_same(a: bytes, b: bytes) -> float:
    """Share of 2,000 random templates that land in the same group under keys a and b."""
    many = np.random.default_rng(2).random((2000, TEMPLATE_SIZE), dtype=np.float32)
    return float(np.mean(group_ids(many, 1000, a) == group_ids(many, 1000, b)))


# (case, key a, key b, same groups expected)
KEYS = [
    (
        "two gateways of a store, same day",
        DailyKeys(SECRET, "store-1", "Europe/Berlin")(NOON_MS),
        DailyKeys(SECRET, "store-1", "Europe/Berlin")(NOON_MS + 5 * 3600_000),
        True,
    ),
    (
        "same store, next day",
        DailyKeys(SECRET, "store-1", "Europe/Berlin")(NOON_MS),
        DailyKeys(SECRET, "store-1", "Europe/Berlin")(NOON_MS + 24 * 3600_000),
        False,
    ),
    (
        "other store, same day and secret",
        DailyKeys(SECRET, "store-1", "Europe/Berlin")(NOON_MS),
        DailyKeys(SECRET, "store-2", "Europe/Berlin")(NOON_MS),
        False,
    ),
    (
        "other store's secret",
        DailyKeys(SECRET, "store-1", "Europe/Berlin")(NOON_MS),
        DailyKeys(b"another-store-secret-xyz", "store-1", "Europe/Berlin")(NOON_MS),
        False,
    ),
    (
        # 23:30 UTC is already the next day in Berlin: the day is the store's, not UTC's.
        "store-local midnight, not UTC's",
        DailyKeys(SECRET, "store-1", "Europe/Berlin")(NOON_MS + 14 * 3600_000 + 1800_000),
        DailyKeys(SECRET, "store-1", "Europe/Berlin")(NOON_MS),
        False,
    ),
]


@pytest.mark.parametrize(("case", "a", "b", "same"), KEYS, ids=[k[0] for k in KEYS])
def test_same_clothes_group_alike_only_within_a_store_day(case: str, a: bytes, b: bytes, same: bool) -> None:
    share = _share_same(a, b)
    if same:
        assert share == 1.0
    else:
        assert share < 0.02, f"{case}: {share:.1%} of outfits keep their group"  # chance is 1 in 1000


def test_a_fixed_seed_would_be_caught() -> None:
    """Positive control: the old fixed-seed hashing (one key everywhere) keeps every group across days."""
    fixed = day_key(SECRET, "any", date(2025, 1, 1))
    assert _share_same(fixed, fixed) == 1.0


def test_without_a_secret_each_process_draws_its_own() -> None:
    assert DailyKeys(None, "s")(NOON_MS) != DailyKeys(None, "s")(NOON_MS)


@pytest.mark.parametrize("secret", [b"", b"short"])
def test_a_short_secret_is_refused(secret: bytes) -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        DailyKeys(secret, "s")


def test_the_secret_never_shows_in_a_repr() -> None:
    assert "store-secret" not in repr(DailyKeys(SECRET, "store-1"))
