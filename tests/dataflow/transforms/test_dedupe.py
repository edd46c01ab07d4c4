"""Repeated entry ids are dropped whatever their track; the winner does not depend on arrival order."""

from __future__ import annotations

import dataclasses

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import window

from anonflow.dataflow.observation import Observation
from anonflow.dataflow.transforms.dedupe import DropRepeatedEntries
from anonflow.dataflow.transforms.tracks import SummariseTracks
from tests.dataflow.builders import obs

A = obs("cam", "a" * 16, 1)
A_UNDER_TRACK_B = dataclasses.replace(A, track_id="b" * 16)
A_IN_STORE_2 = dataclasses.replace(A, store_id="s2")
B = obs("cam", "b" * 16, 2)

# (case, observations in arrival order, (track, entry) pairs kept)
CASES = [
    ("distinct entries pass", [A, B], [("a" * 16, A.entry_id), ("b" * 16, B.entry_id)]),
    ("a plain repeat", [A, A], [("a" * 16, A.entry_id)]),
    ("a repeat under another track", [A_UNDER_TRACK_B, A], [("a" * 16, A.entry_id)]),
    ("the same, arriving the other way round", [A, A_UNDER_TRACK_B], [("a" * 16, A.entry_id)]),
    (
        "one id in two stores is two entries",
        [A, A_IN_STORE_2],
        [("a" * 16, A.entry_id), ("a" * 16, A.entry_id)],
    ),
]


def _windowed(p: beam.Pipeline, observations: list[Observation]) -> beam.PCollection:
    return (
        p
        | beam.Create(observations)
        | beam.Map(lambda o: window.TimestampedValue(o, o.event_time_ms / 1000))
        | beam.WindowInto(window.FixedWindows(86_400))
    )


@pytest.mark.parametrize(("case", "observations", "kept"), CASES, ids=[c[0] for c in CASES])
def test_repeats_are_dropped_by_entry_id(
    case: str, observations: list[Observation], kept: list[tuple[str, str]]
) -> None:
    with BeamPipeline() as p:
        out = (
            _windowed(p, observations) | DropRepeatedEntries() | beam.Map(lambda o: (o.track_id, o.entry_id))
        )
        assert_that(out, equal_to(kept))


def test_control_track_summaries_alone_count_a_cross_track_repeat_twice() -> None:
    """The step this adds is needed: without it the repeat becomes a second track with one observation."""
    with BeamPipeline() as p:
        tracks = (
            _windowed(p, [A, A_UNDER_TRACK_B])
            | SummariseTracks(16)
            | beam.Map(lambda t: t.fragment.observations)
        )
        assert_that(tracks, equal_to([1, 1]))
