"""Store-local windows: table tests over DST changes, a tiling property, and a TestStream run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline
from apache_beam.testing.test_stream import TestStream as BeamStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue
from hypothesis import given, settings
from hypothesis import strategies as st

from anonflow.dataflow.windows import (
    Granularity,
    LocalWindow,
    StoreLocalWindows,
    ZoneWindows,
    overlapping,
    window_of,
)


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def iso(t_ms: int) -> str:
    return datetime.fromtimestamp(t_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%MZ")


# (zone, event instant UTC, granularity, expected start UTC, expected end UTC)
CASES = [
    # Europe/Berlin spring forward 2024-03-31 02:00 CET -> 03:00 CEST (01:00Z): a 23-hour day.
    ("Europe/Berlin", "2024-03-31T12:00Z", "1d", "2024-03-30T23:00Z", "2024-03-31T22:00Z"),
    ("Europe/Berlin", "2024-03-31T00:59Z", "1h", "2024-03-31T00:00Z", "2024-03-31T01:00Z"),  # 01:59 CET
    ("Europe/Berlin", "2024-03-31T01:00Z", "1h", "2024-03-31T01:00Z", "2024-03-31T02:00Z"),  # 03:00 CEST
    ("Europe/Berlin", "2024-03-31T01:02Z", "5m", "2024-03-31T01:00Z", "2024-03-31T01:05Z"),
    # Europe/Berlin fall back 2024-10-27 03:00 CEST -> 02:00 CET (01:00Z): a 25-hour day, "02:00" twice.
    ("Europe/Berlin", "2024-10-27T12:00Z", "1d", "2024-10-26T22:00Z", "2024-10-27T23:00Z"),
    ("Europe/Berlin", "2024-10-27T00:30Z", "1h", "2024-10-27T00:00Z", "2024-10-27T01:00Z"),  # 02:30 CEST
    ("Europe/Berlin", "2024-10-27T01:30Z", "1h", "2024-10-27T01:00Z", "2024-10-27T02:00Z"),  # 02:30 CET
    ("Europe/Berlin", "2024-10-27T23:00Z", "1d", "2024-10-27T23:00Z", "2024-10-28T23:00Z"),  # next day
    ("Europe/Berlin", "2024-10-26T21:59Z", "1d", "2024-10-25T22:00Z", "2024-10-26T22:00Z"),  # 23:59 CEST
    # America/New_York: spring 2024-03-10 (23 h), fall 2024-11-03 (25 h), ordinary 2024-07-04.
    ("America/New_York", "2024-03-10T15:00Z", "1d", "2024-03-10T05:00Z", "2024-03-11T04:00Z"),
    ("America/New_York", "2024-11-03T15:00Z", "1d", "2024-11-03T04:00Z", "2024-11-04T05:00Z"),
    ("America/New_York", "2024-07-04T03:59Z", "1d", "2024-07-03T04:00Z", "2024-07-04T04:00Z"),
    ("America/New_York", "2024-11-03T05:30Z", "1h", "2024-11-03T05:00Z", "2024-11-03T06:00Z"),  # 01:30 EDT
    ("America/New_York", "2024-11-03T06:30Z", "1h", "2024-11-03T06:00Z", "2024-11-03T07:00Z"),  # 01:30 EST
    # Asia/Kolkata, +05:30 all year: hours start at :30 UTC, days at 18:30 UTC.
    ("Asia/Kolkata", "2024-06-01T12:10Z", "1h", "2024-06-01T11:30Z", "2024-06-01T12:30Z"),
    ("Asia/Kolkata", "2024-06-01T12:10Z", "1d", "2024-05-31T18:30Z", "2024-06-01T18:30Z"),
    ("Asia/Kolkata", "2024-06-01T18:30Z", "1d", "2024-06-01T18:30Z", "2024-06-02T18:30Z"),
    ("Asia/Kolkata", "2024-06-01T12:14Z", "5m", "2024-06-01T12:10Z", "2024-06-01T12:15Z"),
    # America/Santiago skips local midnight on 2024-09-08 (00:00 -> 01:00): the day starts at the jump.
    ("America/Santiago", "2024-09-08T12:00Z", "1d", "2024-09-08T04:00Z", "2024-09-09T03:00Z"),
    # Australia/Lord_Howe moves by half an hour (02:00 +10:30 -> 02:30 +11): a half-hour "hour".
    ("Australia/Lord_Howe", "2024-10-05T15:40Z", "1h", "2024-10-05T15:30Z", "2024-10-05T16:00Z"),
    ("Australia/Lord_Howe", "2024-10-05T15:20Z", "1h", "2024-10-05T14:30Z", "2024-10-05T15:30Z"),
    ("Australia/Lord_Howe", "2024-10-05T15:20Z", "1d", "2024-10-05T13:30Z", "2024-10-06T13:00Z"),
]


@pytest.mark.parametrize(("zone", "at", "granularity", "start", "end"), CASES)
def test_window_of(zone: str, at: str, granularity: str, start: str, end: str) -> None:
    window = window_of(ms(at), ZoneInfo(zone), Granularity(granularity))
    assert (iso(window.start_ms), iso(window.end_ms)) == (start, end)


@pytest.mark.parametrize(
    ("zone", "day_utc_noon", "hours"),
    [
        ("Europe/Berlin", "2024-03-31T12:00Z", 23.0),
        ("Europe/Berlin", "2024-10-27T12:00Z", 25.0),
        ("Europe/Berlin", "2024-06-15T12:00Z", 24.0),
        ("America/New_York", "2024-03-10T17:00Z", 23.0),
        ("America/New_York", "2024-11-03T17:00Z", 25.0),
        ("Asia/Kolkata", "2024-03-31T06:00Z", 24.0),
    ],
)
def test_day_length_and_hour_count(zone: str, day_utc_noon: str, hours: float) -> None:
    day = window_of(ms(day_utc_noon), ZoneInfo(zone), Granularity.DAY)
    assert day.hours == hours
    # The day is tiled by exactly that many one-hour windows.
    count, t = 0, day.start_ms
    while t < day.end_ms:
        hour = window_of(t, ZoneInfo(zone), Granularity.HOUR)
        assert hour.start_ms == t and hour.end_ms <= day.end_ms
        t, count = hour.end_ms, count + 1
    assert count == hours


def test_window_rejects_empty_span() -> None:
    with pytest.raises(ValueError, match="must be after its start"):
        LocalWindow(10, 10)


ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "America/Santiago", "Australia/Lord_Howe"]


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    granularity=st.sampled_from(list(Granularity)),
    t_ms=st.integers(ms("2023-01-01T00:00Z"), ms("2026-01-01T00:00Z")),
)
def test_windows_tile_time(zone: str, granularity: Granularity, t_ms: int) -> None:
    z = ZoneInfo(zone)
    window = window_of(t_ms, z, granularity)
    assert window.contains(t_ms)
    # Neighbours touch without overlap; days start at local midnight (or at a jump over it).
    assert window_of(window.start_ms - 1, z, granularity).end_ms == window.start_ms
    assert window_of(window.end_ms, z, granularity).start_ms == window.end_ms
    if granularity is not Granularity.DAY:
        assert window.hours <= (1.0 if granularity is Granularity.HOUR else 5 / 60)
    else:
        assert 23.0 <= window.hours <= 25.0
        assert datetime.fromtimestamp(window.start_ms / 1000, z).strftime("%H:%M") in ("00:00", "01:00")


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from([*ZONES, "Asia/Kathmandu"]),
    t_ms=st.integers(ms("2023-01-01T00:00Z"), ms("2026-01-01T00:00Z")),
)
def test_windows_start_on_whole_minutes_and_nest(zone: str, t_ms: int) -> None:
    """Track summaries count foot points per UTC minute and roll them up: that needs both properties."""
    z = ZoneInfo(zone)
    five, hour, day = (
        window_of(t_ms, z, g) for g in (Granularity.FIVE_MINUTES, Granularity.HOUR, Granularity.DAY)
    )
    for window in (five, hour, day):
        assert window.start_ms % 60_000 == 0 and window.end_ms % 60_000 == 0
    assert hour.start_ms <= five.start_ms and five.end_ms <= hour.end_ms
    assert day.start_ms <= hour.start_ms and hour.end_ms <= day.end_ms


def test_overlapping_lists_every_window_of_a_span() -> None:
    hours = ZoneWindows("Europe/Berlin", Granularity.HOUR)
    spring = list(overlapping(hours, ms("2024-03-31T00:30Z"), ms("2024-03-31T01:00Z")))
    assert [(iso(w.start_ms), iso(w.end_ms)) for w in spring] == [
        ("2024-03-31T00:00Z", "2024-03-31T01:00Z"),  # 01:00-02:00 CET
        ("2024-03-31T01:00Z", "2024-03-31T02:00Z"),  # 03:00-04:00 CEST: the end instant is inside
    ]
    assert len(list(overlapping(hours, ms("2024-03-31T00:30Z"), ms("2024-03-31T00:30Z")))) == 1


def test_default_zone_serves_unlisted_stores() -> None:
    fn = StoreLocalWindows("1d", {"nyc-1": "America/New_York"}, default_zone="UTC")
    assert iso(fn.window_for("any", ms("2024-05-14T03:00Z")).start_ms) == "2024-05-14T00:00Z"
    assert iso(fn.window_for("nyc-1", ms("2024-05-14T03:00Z")).start_ms) == "2024-05-13T04:00Z"


class _Describe(beam.DoFn):
    """(store, count) -> (store, start, end, count, pane timing) so tests can assert on window and pane."""

    def process(
        self,
        element: tuple[str, int],
        window: Any = beam.DoFn.WindowParam,
        pane: Any = beam.DoFn.PaneInfoParam,
    ) -> list[tuple[str, str, str, int, str]]:
        store, count = element
        timing = {0: "early", 1: "on_time", 2: "late", 3: "unknown"}[pane.timing]
        return [(store, iso(window.start.micros // 1000), iso(window.end.micros // 1000), count, timing)]


def _event(store: str, at: str) -> TimestampedValue:
    return TimestampedValue({"store_id": store}, ms(at) / 1000)


def test_teststream_day_windows_across_dst_with_late_entry() -> None:
    """Berlin's 23-hour day and New York's days close as the watermark passes their local ends.

    An entry arriving after the watermark passed its day's end, within the allowed lateness, fires a
    separate late pane of that day (discarding mode: it carries only the late entry).
    """
    zones = {"berlin-1": "Europe/Berlin", "nyc-1": "America/New_York"}
    stream = (
        BeamStream()
        .add_elements([_event("berlin-1", "2024-03-30T23:30Z"), _event("berlin-1", "2024-03-31T21:59Z")])
        .add_elements([_event("nyc-1", "2024-03-31T03:59Z"), _event("nyc-1", "2024-03-31T04:00Z")])
        .advance_watermark_to(ms("2024-03-31T22:00Z") / 1000)  # Berlin's short day is complete
        .add_elements([_event("berlin-1", "2024-03-31T10:00Z")])  # late for the short day
        .add_elements([_event("berlin-1", "2024-03-31T22:00Z")])  # on time: next Berlin day
        .advance_watermark_to_infinity()
    )
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    with BeamPipeline(options=options) as p:
        counted = (
            p
            | stream
            | beam.WindowInto(StoreLocalWindows("1d", zones), allowed_lateness=3600)
            | beam.Map(lambda e: (e["store_id"], 1))
            | beam.CombinePerKey(sum)
            | beam.ParDo(_Describe())
        )
        assert_that(
            counted,
            equal_to(
                [
                    ("berlin-1", "2024-03-30T23:00Z", "2024-03-31T22:00Z", 2, "on_time"),
                    ("berlin-1", "2024-03-30T23:00Z", "2024-03-31T22:00Z", 1, "late"),
                    ("berlin-1", "2024-03-31T22:00Z", "2024-04-01T22:00Z", 1, "on_time"),
                    ("nyc-1", "2024-03-30T04:00Z", "2024-03-31T04:00Z", 1, "on_time"),
                    ("nyc-1", "2024-03-31T04:00Z", "2024-04-01T04:00Z", 1, "on_time"),
                ]
            ),
        )


def test_teststream_autumn_hour_occurs_twice() -> None:
    stream = (
        BeamStream()
        .add_elements([_event("berlin-1", "2024-10-27T00:10Z"), _event("berlin-1", "2024-10-27T00:50Z")])
        .advance_watermark_to(ms("2024-10-27T01:00Z") / 1000)
        .add_elements([_event("berlin-1", "2024-10-27T01:20Z")])
        .advance_watermark_to_infinity()
    )
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    with BeamPipeline(options=options) as p:
        counted = (
            p
            | stream
            | beam.WindowInto(StoreLocalWindows(Granularity.HOUR, {"berlin-1": "Europe/Berlin"}))
            | beam.Map(lambda e: (e["store_id"], 1))
            | beam.CombinePerKey(sum)
            | beam.ParDo(_Describe())
        )
        # Both windows are local 02:00-03:00, CEST then CET.
        assert_that(
            counted,
            equal_to(
                [
                    ("berlin-1", "2024-10-27T00:00Z", "2024-10-27T01:00Z", 2, "on_time"),
                    ("berlin-1", "2024-10-27T01:00Z", "2024-10-27T02:00Z", 1, "on_time"),
                ]
            ),
        )


def test_unknown_store_is_named() -> None:
    fn = StoreLocalWindows("1h", {"berlin-1": "Europe/Berlin"})
    with pytest.raises(KeyError, match="paris-9"):
        fn.window_for("paris-9", ms("2024-01-01T00:00Z"))


def test_unknown_zone_fails_at_construction() -> None:
    with pytest.raises(Exception, match="Mars/Olympus"):
        StoreLocalWindows("1h", {"x": "Mars/Olympus"})
