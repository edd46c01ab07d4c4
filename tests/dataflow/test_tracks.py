"""Track summaries: dedupe by entry id, merge in any order, zone stints, heat cells, label counts."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anonflow.dataflow.tracks import Sighting, Stint, TrackAccumulator, summarise
from anonflow.dataflow.transforms.tracks import _SummariseTrack
from tests.dataflow.builders import T0, obs, walk


def test_repeats_are_counted_once_and_reported() -> None:
    observations = walk("a", "t", 0, 5, 0.1, 0.9)
    track = summarise([*observations, observations[2], observations[2], observations[7]])
    assert track.fragment.observations == len(observations)
    assert (track.received, track.duplicates) == (len(observations) + 3, 3)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_merging_partial_accumulators_in_any_order_gives_the_same_summary(data: st.DataObject) -> None:
    observations = walk("a", "t", 0, 8, 0.1, 0.9, zone="z")
    observations[3] = obs("a", "t", 1.5, 0.3, group=9)
    delivered = data.draw(st.lists(st.sampled_from(observations), min_size=1, max_size=40))
    parts = data.draw(st.integers(1, 4))
    accumulators = [TrackAccumulator() for _ in range(parts)]
    for o in delivered:
        accumulators[data.draw(st.integers(0, parts - 1))].add(o)
    order = data.draw(st.permutations(range(parts)))
    coder = _SummariseTrack(4).get_accumulator_coder()  # what Beam encodes partial combines with
    merged = TrackAccumulator()
    for i in order:
        merged.merge(coder.decode(coder.encode(accumulators[i])))
    assert merged.summary(4) == summarise(delivered, grid_size=4)


def test_an_accumulator_crosses_the_shuffle_with_typed_sightings() -> None:
    accumulator = TrackAccumulator()
    for o in walk("a", "t", 0, 5, 0.1, 0.9, zone="z"):
        accumulator.add(o)
    coder = _SummariseTrack(4).get_accumulator_coder()
    decoded = coder.decode(coder.encode(accumulator))
    assert (decoded.key, decoded.received) == (accumulator.key, accumulator.received)
    assert decoded.records == accumulator.records
    assert {type(s) for s in decoded.records.values()} == {Sighting}
    assert decoded.summary(4) == accumulator.summary(4)


# (zones of consecutive observations 1 s apart, expected stints as (zone, start s, end s))
STINTS = [
    (["a", "a", "a"], [("a", 0, 2)]),
    (["a", "", "a"], [("a", 0, 0), ("a", 2, 2)]),
    (["a", "b", "b", "a"], [("a", 0, 0), ("b", 1, 2), ("a", 3, 3)]),
    (["", "", ""], []),
    (["a+b", "b", "a+b"], [("a", 0, 0), ("b", 0, 2), ("a", 2, 2)]),
]


@pytest.mark.parametrize(("zones", "expected"), STINTS)
def test_stints_are_runs_of_observations_in_a_zone(
    zones: list[str], expected: list[tuple[str, int, int]]
) -> None:
    observations = [
        replace(obs("a", "t", i), zones=tuple(z for z in spec.split("+") if z))
        for i, spec in enumerate(zones)
    ]
    stints = summarise(observations).stints
    assert sorted(stints, key=lambda s: (s.start_ms, s.zone_id)) == sorted(
        (Stint(z, T0 + s * 1000, T0 + e * 1000) for z, s, e in expected),
        key=lambda s: (s.start_ms, s.zone_id),
    )


def test_heat_cells_per_minute_and_grid_edge() -> None:
    observations = [obs("a", "t", 0, 0.0, 0.0), obs("a", "t", 1, 1.0, 1.0), obs("a", "t", 61, 0.99, 0.99)]
    minute = T0 // 60_000
    assert summarise(observations, grid_size=4).heat == (
        (0, 0, minute, 1),
        (3, 3, minute, 1),
        (3, 3, minute + 1, 1),
    )


def test_labels_are_ranked_by_count() -> None:
    observations = [
        obs("a", "t", 0, gender="male"),
        obs("a", "t", 1, gender="female"),
        obs("a", "t", 2, gender="female", age_group="senior"),
    ]
    track = summarise(observations)
    assert track.genders == (("female", 2), ("male", 1))
    assert track.age_groups == (("adult", 2), ("senior", 1))


def test_empty_or_mixed_tracks_are_refused() -> None:
    with pytest.raises(ValueError, match="no observations"):
        TrackAccumulator().summary(4)
    with pytest.raises(ValueError, match="mixed into track"):
        summarise(walk("a", "t1", 0, 1, 0.1, 0.2) + walk("a", "t2", 0, 1, 0.1, 0.2))
