"""Store-local time for the report: which zone the axes are in, and the ticks of a day, week or month.

The zone comes from, in order: an explicit `--time-zone`, the store's entry in a stores file (the one the
job ran with), or the tables themselves: each store-local day's `1d` window starts at local midnight, so
its UTC start gives the store's offset from UTC. That offset is exact except for the hours after a
daylight-saving switch inside the report's period, which the page then says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from enum import Enum
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from anonflow.contract.errors import InputError
from anonflow.dataflow.report.data import Window
from anonflow.dataflow.stores import load_stores


@dataclass(frozen=True, slots=True)
class StoreClock:
    """The zone the page's times are shown in, its short name, and where it came from (said on the page)."""

    zone: tzinfo
    name: str
    source: str

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.zone)


def _offset_name(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def named_zone(name: str, source: str) -> StoreClock:
    try:
        return StoreClock(ZoneInfo(name), name, source)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown time zone {name!r} (for example Europe/Berlin)") from None


def from_day_windows(days: tuple[Window, ...]) -> StoreClock:
    """The offset implied by the daily windows (local midnight in UTC); UTC when there are none."""
    offsets = {datetime.combine(w.day, time()) - w.start.astimezone(UTC).replace(tzinfo=None) for w in days}
    if not offsets:
        return StoreClock(UTC, "UTC", "no daily windows to read the store's offset from")
    if len(offsets) == 1:
        offset = offsets.pop()
        return StoreClock(
            timezone(offset, _offset_name(offset)), _offset_name(offset), "from the day windows"
        )
    first = datetime.combine(days[0].day, time()) - days[0].start.astimezone(UTC).replace(tzinfo=None)
    return StoreClock(
        timezone(first, _offset_name(first)),
        _offset_name(first),
        "the offset changes in this period (daylight saving): pass --stores or --time-zone for exact hours",
    )


def resolve(
    store_id: str, days: tuple[Window, ...], time_zone: str | None = None, stores: Path | None = None
) -> StoreClock:
    """The store's clock: explicit zone, else the stores file's entry, else read from the tables."""
    if time_zone:
        return named_zone(time_zone, "as asked")
    if stores is not None:
        configured = load_stores(stores).by_id()
        if store_id not in configured:
            raise InputError(f"store {store_id!r} is not in stores file {stores}")
        return named_zone(configured[store_id].time_zone, f"from {stores.name}")
    return from_day_windows(days)


class Span(Enum):
    """How much time the report covers, which decides the time axes' steps and labels."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def span_of(first: date, last: date) -> Span:
    days = (last - first).days + 1
    if days <= 1:
        return Span.DAY
    return Span.WEEK if days <= 14 else Span.MONTH


@dataclass(frozen=True, slots=True)
class Tick:
    """One labelled point of a time axis: where it is (UTC) and the local time it names."""

    at: datetime
    local: datetime
    label: str


def ticks(span: Span, start: datetime, end: datetime, clock: StoreClock) -> tuple[Tick, ...]:
    """Ticks on local whole hours (a day: every 2 h), local midnights (a week) or Mondays (a month)."""
    first = clock.local(start)
    if span is Span.DAY:
        step, label = timedelta(hours=2 if end - start > timedelta(hours=6) else 1), "%H:%M"
        local = first.replace(minute=0, second=0, microsecond=0)
        if local.hour % 2 and step == timedelta(hours=2):
            local += timedelta(hours=1)
    else:
        step, label = timedelta(days=1 if span is Span.WEEK else 7), "%a %d %b"
        local = first.replace(hour=0, minute=0, second=0, microsecond=0)
        if span is Span.MONTH:
            local += timedelta(days=(7 - local.weekday()) % 7)
    found = []
    wall = local.replace(tzinfo=None)
    while True:
        # Step in wall-clock time and convert each tick, so a 23- or 25-hour day keeps midnight on midnight.
        at = _to_utc(wall, clock.zone)
        if at > end:
            break
        if at >= start:
            found.append(Tick(at, at.astimezone(clock.zone), at.astimezone(clock.zone).strftime(label)))
        wall += step
    return tuple(found)


def _to_utc(wall: datetime, zone: tzinfo) -> datetime:
    return wall.replace(tzinfo=zone).astimezone(UTC)
