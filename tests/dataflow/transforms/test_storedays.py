"""The windowed chain in streaming: payloads -> parse -> store-day windows -> tracks -> journeys -> footfall.

TestStream states time explicitly: elements arrive, the watermark moves, and each store-day fires when
the watermark passes its local midnight. Late entries within the allowed lateness fire a late pane that
holds the whole day again (panes accumulate); later ones go to the dead-letter output. Repeats are
counted once.

The streaming DirectRunner reports Beam counters of only the first bundle of each step, so these tests
read what each pane added from the `PaneCounts` elements CountStoreDays emits next to its counters.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline
from apache_beam.testing.test_stream import TestStream as BeamStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from anonflow.dataflow.aggregate.footfall import Footfall
from anonflow.dataflow.deadletter import DEAD_LETTER_TAG
from anonflow.dataflow.journeys import StoreDay
from anonflow.dataflow.observation import Observation
from anonflow.dataflow.reconnect.transforms import Reconnect
from anonflow.dataflow.stores import StoreConfig, StoresConfig
from anonflow.dataflow.transforms.counts import CountStoreDays
from anonflow.dataflow.transforms.late import DeadLetterTooLate
from anonflow.dataflow.transforms.parse import ParseEntries
from anonflow.dataflow.transforms.storedays import WindowStoreDays
from anonflow.dataflow.transforms.tracks import SummariseTracks
from tests.dataflow.builders import entry_json, obs

BERLIN = StoresConfig(stores=(StoreConfig(store_id="s1", time_zone="Europe/Berlin"),))
LATENESS_S = 3600


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def seconds(iso: str) -> float:
    return ms(iso) / 1000


def at(iso: str, track: str, *, group: int = 5, zone: str = "") -> Observation:
    """One observation of track `track` (two hex digits, padded to a contract track id) at a UTC instant."""
    return obs("cam", track.ljust(16, "0"), 0, group=group, zone=zone, t0_ms=ms(iso))


def payload(*observations: Observation, arrival: str) -> TimestampedValue:
    """A gateway message with these entries, arriving (processing) at `arrival`."""
    text = json.dumps({"entries": [entry_json(o) for o in observations]})
    return TimestampedValue(("mqtt", text), seconds(arrival))


def _summary(day: StoreDay) -> tuple[str, str, int, int, tuple[tuple[str, ...], ...]]:
    tracks = tuple(tuple(t.fragment.track_id[:2] for t in j.tracks) for j in day.journeys)
    return (day.date, day.timing, day.observations, day.duplicates, tracks)


def _hourly(batch: Any) -> list[tuple[str, int, str, int]]:
    return [
        (
            batch.date,
            batch.pane,
            datetime.fromtimestamp(r["window_start"] / 1000, UTC).strftime("%H:%MZ"),
            r["visitors"],
        )
        for r in batch.rows
        if r["zone_id"] == "*" and r["granularity"] == "1h"
    ]


def _run(stream: BeamStream) -> tuple[Any, Any, Any]:
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    pipeline = BeamPipeline(options=options)
    parsed = pipeline | stream | ParseEntries(frozenset({"s1"}))
    timely = parsed.entries | DeadLetterTooLate(BERLIN.time_zones(), None, allowed_lateness_s=LATENESS_S)
    days = (
        timely.entries
        | WindowStoreDays(BERLIN.time_zones(), None, allowed_lateness_s=LATENESS_S)
        | SummariseTracks(grid_size=4)
        | Reconnect(BERLIN)
    )
    return pipeline, days, (days | CountStoreDays(), timely[DEAD_LETTER_TAG])


def test_watermark_closes_days_across_the_spring_dst_change_and_late_entries_refire() -> None:
    """Berlin, 2024-03-31: clocks jump 02:00 CET -> 03:00 CEST at 01:00Z, a 23-hour day.

    - the 30th closes at 2024-03-30T23:00Z, the 31st at 2024-03-31T22:00Z (local midnights);
    - a track from 01:59:58 CET to 03:00:02 CEST spans the jump: two hour windows, 4 s apart;
    - an entry of the 31st arriving after its close, within the allowed lateness, fires a late pane with
      the whole day (the earlier tracks again, plus it); one beyond the lateness is dead-lettered;
    - a repeat of an entry (same id), even in a later message, is counted once.
    """
    night = [at("2024-03-30T22:30:00+00:00", "a0"), at("2024-03-30T22:30:01+00:00", "a0")]
    jump = [at("2024-03-31T00:59:58+00:00", "b0"), at("2024-03-31T01:00:02+00:00", "b0")]
    evening = [at("2024-03-31T19:00:00+00:00", "c0", group=7)]
    late = at("2024-03-31T21:00:00+00:00", "d0", group=9)
    too_late = at("2024-03-31T21:30:00+00:00", "e0", group=11)
    stream = (
        BeamStream()
        .add_elements([payload(*night, arrival="2024-03-30T22:31:00+00:00")])
        .advance_watermark_to(seconds("2024-03-30T23:00:00+00:00"))  # the 30th is complete
        .add_elements([payload(*jump, arrival="2024-03-31T01:01:00+00:00")])
        .add_elements([payload(jump[0], *evening, arrival="2024-03-31T19:01:00+00:00")])  # a repeat
        .advance_watermark_to(seconds("2024-03-31T22:00:00+00:00"))  # the 31st (23 h) is complete
        .add_elements([payload(late, arrival="2024-03-31T22:10:00+00:00")])
        .advance_watermark_to(seconds("2024-03-31T23:30:00+00:00"))  # past the lateness of the 31st
        .add_elements([payload(too_late, arrival="2024-03-31T23:31:00+00:00")])
        .advance_watermark_to_infinity()
    )
    pipeline, days, (counts, too_late) = _run(stream)
    assert_that(
        days | "Summaries" >> beam.Map(_summary),
        equal_to(
            [
                ("2024-03-30", "on_time", 2, 0, (("a0",),)),
                ("2024-03-31", "on_time", 3, 1, (("b0",), ("c0",))),
                ("2024-03-31", "late", 4, 1, (("b0",), ("c0",), ("d0",))),
            ]
        ),
        label="StoreDays",
    )
    assert_that(
        days | "Footfall" >> Footfall() | "Hourly" >> beam.FlatMap(_hourly),
        equal_to(
            [
                ("2024-03-30", 0, "22:00Z", 1),
                *[("2024-03-31", pane, h, 1) for pane in (0, 1) for h in ("00:00Z", "01:00Z", "19:00Z")],
                ("2024-03-31", 1, "21:00Z", 1),
            ]
        ),
        label="HourlyRows",
    )
    assert_that(
        counts | "Added" >> beam.Map(lambda c: (c.date, c.pane, c.timing, c.counted, c.duplicates, c.late)),
        equal_to(
            [
                ("2024-03-30", 0, "on_time", 2, 0, 0),
                ("2024-03-31", 0, "on_time", 3, 1, 0),
                ("2024-03-31", 1, "late", 1, 0, 1),
            ]
        ),
        label="PaneCounts",
    )
    assert_that(
        too_late
        | "TooLate" >> beam.Map(lambda d: (d.store_id, json.loads(d.raw)["track_id"][:2], d.reason[:39])),
        equal_to([("s1", "e0", "arrived after its store-day closed (all")]),
        label="DeadLetters",
    )
    pipeline.run().wait_until_finish()


@pytest.mark.parametrize(
    ("zone", "event", "date"),
    [
        ("Europe/Berlin", "2024-10-26T21:59:59+00:00", "2024-10-26"),  # 23:59:59 CEST
        ("Europe/Berlin", "2024-10-26T22:00:00+00:00", "2024-10-27"),  # 00:00 CEST, a 25-hour day
        ("America/New_York", "2024-11-03T03:59:59+00:00", "2024-11-02"),
        ("America/New_York", "2024-11-03T04:00:00+00:00", "2024-11-03"),
    ],
)
def test_local_midnight_decides_the_day(zone: str, event: str, date: str) -> None:
    stores = StoresConfig(stores=(StoreConfig(store_id="s1", time_zone=zone),))
    stream = (
        BeamStream().add_elements([payload(at(event, "a0"), arrival=event)]).advance_watermark_to_infinity()
    )
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    with BeamPipeline(options=options) as p:
        days = (
            (p | stream | ParseEntries()).entries
            | WindowStoreDays(stores.time_zones(), None, allowed_lateness_s=0)
            | SummariseTracks(grid_size=4)
            | Reconnect(stores)
        )
        assert_that(days | beam.Map(lambda d: (d.date, d.timing)), equal_to([(date, "on_time")]))


def test_early_firings_repeat_the_day_so_far() -> None:
    """With early firings, each pane holds the whole day so far; the on-time pane ends it."""
    stream = (
        BeamStream()
        .add_elements([payload(at("2024-05-14T08:00:00+00:00", "a0"), arrival="2024-05-14T08:00:01+00:00")])
        .advance_processing_time(120)
        .add_elements(
            [payload(at("2024-05-14T09:00:00+00:00", "b0", group=8), arrival="2024-05-14T09:00:01+00:00")]
        )
        .advance_processing_time(120)
        .advance_watermark_to_infinity()
    )
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    with BeamPipeline(options=options) as p:
        days = (
            (p | stream | ParseEntries()).entries
            | WindowStoreDays(BERLIN.time_zones(), None, allowed_lateness_s=0, early_firing_s=60)
            | SummariseTracks(grid_size=4)
            | Reconnect(BERLIN)
        )
        assert_that(days | beam.Map(lambda d: (d.timing, d.observations)), _day_so_far)


def _day_so_far(panes: list[tuple[str, int]]) -> None:
    # How often an early pane fires is the runner's business; what each pane holds is not.
    early = [n for timing, n in panes if timing == "early"]
    assert early == sorted(early) and early[0] == 1 and early[-1] == 2, panes
    assert [p for p in panes if p[0] != "early"] == [("on_time", 2)], panes


@pytest.mark.parametrize(
    ("lateness", "early", "error"),
    [(-1.0, None, "allowed_lateness_s >= 0"), (0.0, 0.0, "early_firing_s > 0")],
)
def test_window_settings_are_checked(lateness: float, early: float | None, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        WindowStoreDays({}, "UTC", allowed_lateness_s=lateness, early_firing_s=early)
