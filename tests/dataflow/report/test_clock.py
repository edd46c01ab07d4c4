"""Store-local time in the report: which zone, which span, which ticks (DST days included)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from anonflow.contract.errors import InputError
from anonflow.dataflow.report.clock import Span, from_day_windows, named_zone, resolve, span_of, ticks
from anonflow.dataflow.report.data import Window

BERLIN = named_zone("Europe/Berlin", "test")


def _day(day: date, start_utc: datetime, hours: int = 24) -> Window:
    return Window("*", "1d", start_utc, start_utc + timedelta(hours=hours), day, 10, 2, False)


@pytest.mark.parametrize(
    ("first", "last", "span"),
    [
        (date(2024, 5, 14), date(2024, 5, 14), Span.DAY),
        (date(2024, 5, 14), date(2024, 5, 15), Span.WEEK),
        (date(2024, 5, 1), date(2024, 5, 14), Span.WEEK),
        (date(2024, 5, 1), date(2024, 5, 15), Span.MONTH),
        (date(2024, 1, 1), date(2024, 3, 31), Span.MONTH),
    ],
)
def test_span_follows_the_data(first: date, last: date, span: Span) -> None:
    assert span_of(first, last) is span


@pytest.mark.parametrize(
    ("span", "start", "end", "expected"),
    [
        # One day, 08:00-20:00 Berlin summer time: every 2 hours, labelled in local time.
        (
            Span.DAY,
            datetime(2024, 5, 14, 6, tzinfo=UTC),
            datetime(2024, 5, 14, 18, tzinfo=UTC),
            ["08:00", "10:00", "12:00", "14:00", "16:00", "18:00", "20:00"],
        ),
        # One window padded to a few hours: hourly ticks.
        (
            Span.DAY,
            datetime(2026, 11, 21, 7, 30, tzinfo=UTC),
            datetime(2026, 11, 21, 13, 30, tzinfo=UTC),
            ["09:00", "10:00", "11:00", "12:00", "13:00", "14:00"],
        ),
        # A week across the end of summer time (Sun 27 Oct 2024 has 25 hours): still local midnights.
        (
            Span.WEEK,
            datetime(2024, 10, 25, 22, tzinfo=UTC),
            datetime(2024, 10, 29, 23, tzinfo=UTC),
            ["Sat 26 Oct", "Sun 27 Oct", "Mon 28 Oct", "Tue 29 Oct", "Wed 30 Oct"],
        ),
        # A month: Mondays.
        (
            Span.MONTH,
            datetime(2024, 9, 30, 22, tzinfo=UTC),
            datetime(2024, 10, 31, 23, tzinfo=UTC),
            ["Mon 07 Oct", "Mon 14 Oct", "Mon 21 Oct", "Mon 28 Oct"],
        ),
    ],
)
def test_ticks_are_store_local_and_ordered(
    span: Span, start: datetime, end: datetime, expected: list[str]
) -> None:
    found = ticks(span, start, end, BERLIN)
    assert [t.label for t in found] == expected
    assert [t.at for t in found] == sorted(t.at for t in found)
    if span is not Span.DAY:
        assert all((t.local.hour, t.local.minute) == (0, 0) for t in found)


def test_the_offset_is_read_from_the_day_windows() -> None:
    winter = from_day_windows((_day(date(2026, 11, 21), datetime(2026, 11, 20, 23, tzinfo=UTC)),))
    assert (winter.name, winter.source) == ("UTC+01:00", "from the day windows")
    west = from_day_windows((_day(date(2024, 5, 14), datetime(2024, 5, 14, 4, tzinfo=UTC)),))
    assert west.name == "UTC-04:00"
    assert from_day_windows(()).name == "UTC"
    switched = from_day_windows(
        (
            _day(date(2024, 10, 26), datetime(2024, 10, 25, 22, tzinfo=UTC)),
            _day(date(2024, 10, 27), datetime(2024, 10, 26, 22, tzinfo=UTC), hours=25),
            _day(date(2024, 10, 28), datetime(2024, 10, 27, 23, tzinfo=UTC)),
        )
    )
    assert switched.name == "UTC+02:00" and "daylight saving" in switched.source


def test_resolve_prefers_the_asked_zone_then_the_stores_file(tmp_path: Path) -> None:
    stores = tmp_path / "stores.yaml"
    stores.write_text("stores:\n  - {store_id: s1, time_zone: America/New_York}\n")
    days = (_day(date(2026, 11, 21), datetime(2026, 11, 20, 23, tzinfo=UTC)),)
    assert resolve("s1", days, "Asia/Tokyo", stores).name == "Asia/Tokyo"
    assert resolve("s1", days, None, stores).name == "America/New_York"
    assert resolve("s1", days).name == "UTC+01:00"
    with pytest.raises(InputError, match="store 's2' is not in stores file"):
        resolve("s2", days, None, stores)
    with pytest.raises(InputError, match="unknown time zone 'Mars/Olympus'"):
        resolve("s1", days, "Mars/Olympus")
