"""The event-time window: inside is accepted, outside on either side is a reason naming the window."""

from __future__ import annotations

import pytest

from anonflow.dataflow.timewindow import EventTimeWindow

REF = 1_715_774_400_000  # 2024-05-15T12:00:00Z
DAY = 86_400_000

# (event time, wall clock or None, expected reason start or None)
CASES = [
    (REF, None, None),
    (REF - 8 * DAY, None, None),  # the oldest accepted
    (
        REF - 8 * DAY - 1,
        None,
        "event_time_ms 1715083199999 (2024-05-07T11:59:59Z) is before the accepted window",
    ),
    (REF + 900_000, None, None),
    (REF + 900_001, None, "event_time_ms 1715775300001 (2024-05-15T12:15:00Z) is after the accepted window"),
    (946_684_800_000, None, "event_time_ms 946684800000 (2000-01-01T00:00:00Z) is before"),
]


@pytest.mark.parametrize(("event_ms", "now_ms", "reason"), CASES)
def test_fixed_reference(event_ms: int, now_ms: int | None, reason: str | None) -> None:
    window = EventTimeWindow(max_age_s=8 * 86400, max_ahead_s=900, reference_ms=REF)
    got = window.reject_reason(event_ms, now_ms)
    assert (got if reason is None or got is None else got[: len(reason)]) == reason


def test_without_a_reference_the_clock_decides() -> None:
    window = EventTimeWindow(max_age_s=60, max_ahead_s=0)
    assert window.reject_reason(REF, now_ms=REF + 60_000) is None
    assert window.reject_reason(REF, now_ms=REF + 60_001) is not None


def test_bounds_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        EventTimeWindow(max_age_s=-1, max_ahead_s=0)
