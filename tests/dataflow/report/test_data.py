"""Cells the release did not publish come back as gaps within the published span, and only there."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from anonflow.dataflow.report.data import Window, with_unpublished

DAY1, DAY2 = date(2026, 11, 20), date(2026, 11, 21)


def _hour(zone: str, day: date, hour: int, people: int = 5) -> Window:
    start = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    return Window(zone, "1h", start, start + timedelta(hours=1), day, people, 2, False)


def _day(zone: str, day: date, people: int = 40) -> Window:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return Window(zone, "1d", start, start + timedelta(days=1), day, people, 5, False)


def _gaps(windows: list[Window]) -> set[tuple[str, str, str]]:
    return {
        (w.zone_id, w.granularity, f"{w.start:%d %H}")
        for w in with_unpublished(tuple(windows))
        if w.suppressed and w.people is None
    }


@pytest.mark.parametrize(
    ("published", "gaps"),
    [
        # Every zone gets every hour between the day's first and last published hour.
        (
            [_hour("*", DAY1, 10), _hour("*", DAY1, 12), _hour("a", DAY1, 10)],
            {("*", "1h", "20 11"), ("a", "1h", "20 11"), ("a", "1h", "20 12")},
        ),
        # The night between two days (and hours before the first, after the last) stays blank.
        ([_hour("*", DAY1, 19), _hour("*", DAY2, 8)], set()),
        # A zone missing on a day another zone was published gets a gap that day.
        ([_day("*", DAY1), _day("*", DAY2), _day("a", DAY1)], {("a", "1d", "21 00")}),
        ([], set()),
    ],
    ids=["hours", "nights-blank", "days", "nothing"],
)
def test_unpublished_cells_are_gaps(published: list[Window], gaps: set[tuple[str, str, str]]) -> None:
    assert _gaps(published) == gaps


def test_published_rows_are_kept_in_time_order() -> None:
    published = [_hour("*", DAY1, 12), _hour("*", DAY1, 10), _hour("b", DAY1, 11)]
    filled = with_unpublished(tuple(published))
    assert [w for w in filled if not w.suppressed] == sorted(published, key=lambda w: (w.start, w.zone_id))
    assert [w.start for w in filled] == sorted(w.start for w in filled)
