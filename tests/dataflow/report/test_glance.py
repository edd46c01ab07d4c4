"""The day at a glance: each headline's value, and what it says when the data cannot back it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from anonflow.dataflow.report.clock import named_zone
from anonflow.dataflow.report.data import ReportData, Stay, Window
from anonflow.dataflow.report.glance import duration, glance
from tests.dataflow.report.builders import report_data

TODAY = date(2026, 11, 21)  # a Saturday
BERLIN = named_zone("Europe/Berlin", "test")


def _day(day: date, people: int | None, zone: str = "*", unlinked: int | None = None) -> Window:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=1)
    return Window(zone, "1d", start, start + timedelta(days=1), day, people, 4, people is None, unlinked)


def _hour(hour: int, people: int | None, occupancy: int | None = 3) -> Window:
    start = datetime(2026, 11, 21, hour - 1, tzinfo=UTC)  # local hour `hour` in Berlin winter time
    return Window("*", "1h", start, start + timedelta(hours=1), TODAY, people, occupancy, people is None)


def _data(
    days: list[Window], windows: list[Window], stays: list[Stay], privacy: dict[str, object]
) -> ReportData:
    return report_data(TODAY, days=days, windows=windows, stays=stays, privacy=privacy)


BUSY = (
    [_day(TODAY - timedelta(days=7), 200), _day(TODAY - timedelta(days=1), 400), _day(TODAY, 500)],
    [
        _hour(10, 40),
        _hour(14, 61, occupancy=9),
        _hour(15, 61),
        _hour(16, None),
        _day(TODAY, 120, "checkout"),
        _day(TODAY, 300, "entrance"),
    ],
    [Stay("*", TODAY, 500, 95.0, 400.0, False)],
)


@pytest.mark.parametrize(
    ("case", "k", "expected"),
    [
        (
            BUSY,
            3,
            {
                "People today": ("500", "distinct people seen anywhere in the store on Sat 21 Nov 2026"),
                "Peak hour": ("14:00–15:00", "61 seen in it; at most 9 in the store at once"),
                "Median visit": ("1 min 35 s", "one in ten stayed longer than 6 min 40 s (p90)"),
                "Busiest zone": ("entrance", "the zone the most people were seen in: 300"),
                "vs previous day": ("+25%", "people today against 400 on Fri 20 Nov 2026"),
                "vs last Saturday": ("+150%", "people today against 200 on Sat 14 Nov 2026"),
            },
        ),
        (
            ([_day(TODAY, None)], [_hour(10, None)], [Stay("*", TODAY, None, None, None, True)]),
            5,
            {
                "People today": ("fewer than 5", "; not published"),
                "Peak hour": ("none", "no store-local hour today has enough people to show"),
                "Median visit": ("not published", "half stayed shorter; fewer than 5 people"),
                "Busiest zone": ("none", "no zones are configured"),
                "vs previous day": ("—", "no data for Fri 20 Nov 2026"),
                "vs last Saturday": ("—", "no data for Sat 14 Nov 2026"),
            },
        ),
        (
            (
                [_day(TODAY, 30, unlinked=4), _day(TODAY - timedelta(days=1), None)],
                [_day(TODAY, None, "aisle")],
                [],
            ),
            None,
            {
                "People today": ("30", "true count most likely lies between 26 and 30"),
                "Median visit": ("not published", "door to door"),
                "Busiest zone": ("none", "every zone had too few people to show"),
                "vs previous day": ("—", "people on Fri 20 Nov 2026 or today are suppressed"),
            },
        ),
        (
            # Published with fewer people than dwell statistics need: the stay is withheld, said why.
            ([_day(TODAY, 8)], [], [Stay("*", TODAY, 8, None, None, False)]),
            3,
            {"Median visit": ("withheld", "withheld: fewer than 10 people")},
        ),
    ],
    ids=["busy", "all-suppressed", "sparse", "stay-withheld"],
)
def test_headlines(
    case: tuple[list[Window], list[Window], list[Stay]], k: int | None, expected: dict[str, tuple[str, str]]
) -> None:
    days, windows, stays = case
    privacy: dict[str, object] = (
        {"footfall": {"k": k}, "dwell": {"k": k, "statistics": {"min_support": 10}}} if k else {}
    )
    headlines = {h.label: h for h in glance(_data(days, windows, stays, privacy), TODAY, BERLIN).headlines}
    for label, (value, says) in expected.items():
        assert headlines[label].value == value
        assert says in headlines[label].counts, headlines[label].counts


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (59.6, "1 min"), (65, "1 min 5 s"), (600, "10 min"), (3720, "1 h 2 min")],
)
def test_durations_read_like_speech(seconds: float, text: str) -> None:
    assert duration(seconds) == text
