"""An entry id counts once per store-day whatever its track: the cross-track check and the job's step."""

from __future__ import annotations

import dataclasses

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from anonflow.dataflow.journeys import StoreDay
from anonflow.dataflow.observation import Observation
from anonflow.dataflow.reconnect.transforms import Reconnect
from anonflow.dataflow.shared import keep_each_entry_once
from anonflow.dataflow.tracks import packed_id, summarise
from anonflow.dataflow.transforms.storedays import WindowStoreDays
from anonflow.dataflow.transforms.tracks import SummariseTracks
from tests.dataflow.builders import obs, walk

A = obs("cam", "a" * 16, 1)
A_UNDER_TRACK_B = dataclasses.replace(A, track_id="b" * 16)
A_IN_STORE_2 = dataclasses.replace(A, store_id="s2")
B = obs("cam", "b" * 16, 2)
WALK = walk("cam", "c" * 16, 10, 15, 0.2, 0.8)  # 11 entries
# A replay of the walk's first three entries under an invented track, and one with a new entry too.
REPLAY = [dataclasses.replace(o, track_id="d" * 16) for o in WALK[:3]]
MIXED = [*REPLAY, obs("cam", "d" * 16, 16)]
# The same walk replayed under a track id that sorts first: it keeps the ids, the original is dropped.
FIRST = [dataclasses.replace(o, track_id="0" * 16) for o in WALK]


def _check_days(observations: list[Observation], expected: list[object]) -> None:
    """Run the job's steps; per store-day: (store, (track, entries) kept, entries counted, duplicates)."""

    def summary(day: StoreDay) -> tuple[str, tuple[tuple[str, int], ...], int, int]:
        tracks = sorted(
            (t.fragment.track_id, t.fragment.observations) for j in day.journeys for t in j.tracks
        )
        return (day.store_id, tuple(tracks), day.observations, day.duplicates)

    with BeamPipeline() as p:
        out = (
            p
            | beam.Create(observations)
            | beam.Map(lambda o: TimestampedValue(o, o.event_time_ms / 1000))
            | WindowStoreDays({}, "UTC", allowed_lateness_s=0)
            | SummariseTracks(grid_size=4)
            | Reconnect(None)
            | beam.Map(summary)
        )
        assert_that(out, equal_to(expected))


# (case, observations in arrival order, per store: (store, (track, entries) kept, counted, duplicates))
CASES = [
    ("distinct entries pass", [A, B], [("s1", (("a" * 16, 1), ("b" * 16, 1)), 2, 0)]),
    ("a plain repeat", [A, A], [("s1", (("a" * 16, 1),), 1, 1)]),
    ("a repeat under another track", [A_UNDER_TRACK_B, A], [("s1", (("a" * 16, 1),), 1, 1)]),
    ("the same, arriving the other way round", [A, A_UNDER_TRACK_B], [("s1", (("a" * 16, 1),), 1, 1)]),
    (
        "one id in two stores is two entries",
        [A, A_IN_STORE_2],
        [("s1", (("a" * 16, 1),), 1, 0), ("s2", (("a" * 16, 1),), 1, 0)],
    ),
    ("a replayed stretch under an invented track", [*WALK, *REPLAY], [("s1", (("c" * 16, 11),), 11, 3)]),
    ("a replay under a track that sorts first", [*WALK, *FIRST], [("s1", (("0" * 16, 11),), 11, 11)]),
    (
        "a track sharing some entries is kept whole (its new entry is real)",
        [*WALK, *MIXED],
        [("s1", (("c" * 16, 11), ("d" * 16, 4)), 15, 0)],
    ),
]


@pytest.mark.parametrize(("case", "observations", "expected"), CASES, ids=[c[0] for c in CASES])
def test_an_entry_counts_once_whatever_its_track(
    case: str, observations: list[Observation], expected: list[object]
) -> None:
    _check_days(observations, expected)


def test_the_check_reports_what_it_dropped_and_what_it_kept_twice() -> None:
    result = keep_each_entry_once([summarise(MIXED), summarise(WALK)])
    assert [t.fragment.track_id for t in result.tracks] == ["c" * 16, "d" * 16]
    assert (result.replays, result.replayed_deliveries, result.shared_kept) == (0, 0, 3)


def test_kept_tracks_carry_no_ids_on() -> None:
    result = keep_each_entry_once([summarise(WALK), summarise(REPLAY)])
    assert [t.entry_ids for t in result.tracks] == [b""]
    assert (result.replays, result.replayed_deliveries, result.shared_kept) == (1, 3, 0)


def test_an_edited_repeat_does_not_win_by_arriving_last() -> None:
    edited = dataclasses.replace(A, foot_x=0.9)
    assert summarise([A, edited]) == summarise([edited, A])


@pytest.mark.parametrize(
    ("entry_id", "expected"),
    [
        ("0123456789abcdef" * 2, bytes.fromhex("0123456789abcdef" * 2)),
        ("not-hex-but-32-characters-long!!", None),
        ("short", None),
    ],
)
def test_packed_ids_are_sixteen_bytes(entry_id: str, expected: bytes | None) -> None:
    packed = packed_id(entry_id)
    assert len(packed) == 16
    if expected is not None:
        assert packed == expected


def test_control_track_summaries_alone_count_a_cross_track_repeat_twice() -> None:
    """The check is needed: without it the repeat becomes a second track with one observation."""
    assert [summarise([o]).fragment.observations for o in (A, A_UNDER_TRACK_B)] == [1, 1]
    assert len(keep_each_entry_once([summarise([A]), summarise([A_UNDER_TRACK_B])]).tracks) == 1
