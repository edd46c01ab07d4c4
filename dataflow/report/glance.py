"""The day at a glance: the few numbers a store manager reads first, each saying what it counts.

Pure: it reads the loaded rows and returns named figures; the page only lays them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from anonflow.dataflow.journeys import STORE_ZONE
from anonflow.dataflow.report.clock import StoreClock
from anonflow.dataflow.report.data import ReportData, Window


@dataclass(frozen=True, slots=True)
class Headline:
    """One number of the day at a glance: the value as shown, what it is, and what exactly it counts."""

    label: str
    value: str
    counts: str


@dataclass(frozen=True, slots=True)
class Glance:
    """The headline figures of one store-local day."""

    day: date
    headlines: tuple[Headline, ...]


def fewer_than(k: int | None) -> str:
    return f"fewer than {k}" if k else "fewer than k"


def duration(seconds: float) -> str:
    """65 -> '1 min 5 s'; 3700 -> '1 h 2 min'."""
    total = round(seconds)
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def _day_label(day: date) -> str:
    return day.strftime("%a %d %b %Y")


def _people_today(row: Window | None, day: date, k: int | None) -> Headline:
    counts = f"distinct people seen anywhere in the store on {_day_label(day)} (store-local day)"
    if row is None or row.suppressed or row.people is None:
        # The day has published rows (it is the report's day), so a missing whole-store row was withheld.
        return Headline("People today", fewer_than(k), counts + "; not published: fewer than k people")
    if row.unlinked:
        counts += (
            f"; an estimate: {row.unlinked:,} of them were not seen entering through a door, so the true "
            f"count most likely lies between {row.people - row.unlinked:,} and {row.people:,}"
        )
    return Headline("People today", f"{row.people:,}", counts)


def _peak(hours: list[Window], clock: StoreClock) -> Headline:
    shown = [w for w in hours if not w.suppressed and w.people is not None]
    if not shown:
        return Headline("Peak hour", "none", "no store-local hour today has enough people to show")
    best = max(shown, key=lambda w: (w.people or 0, -w.start.timestamp()))
    start, end = clock.local(best.start), clock.local(best.end)
    occupancy = f"; at most {best.peak_occupancy} in the store at once" if best.peak_occupancy else ""
    return Headline(
        "Peak hour",
        f"{start:%H:%M}–{end:%H:%M}",
        f"the hour with the most people: {best.people:,} seen in it{occupancy}",
    )


def _visit_length(data: ReportData, day: date) -> Headline:
    stay = next((s for s in data.stays if s.day == day and s.zone_id == STORE_ZONE), None)
    counts = "how long people stayed in the store, door to door: half stayed shorter"
    if stay is None or stay.suppressed or stay.p50_s is None:
        if stay is not None and not stay.suppressed:
            least = data.stay_min_people
            counts += f"; withheld: fewer than {least} people" if least else "; withheld: too few people"
            return Headline("Median visit", "withheld", counts)
        # The report's day has published rows, so a missing whole-store stay was not published.
        return Headline("Median visit", "not published", f"{counts}; {fewer_than(data.k)} people")
    if stay.p90_s is not None:
        counts += f"; one in ten stayed longer than {duration(stay.p90_s)} (p90)"
    return Headline("Median visit", duration(stay.p50_s), counts)


def _busiest_zone(days: list[Window]) -> Headline:
    zones = [w for w in days if w.zone_id != STORE_ZONE]
    shown = [w for w in zones if not w.suppressed and w.people is not None]
    if not shown:
        reason = "every zone had too few people to show" if zones else "no zones are configured"
        return Headline("Busiest zone", "none", reason)
    best = max(shown, key=lambda w: (w.people or 0, w.zone_id))
    return Headline("Busiest zone", best.zone_id, f"the zone the most people were seen in: {best.people:,}")


def _change(today: Window | None, other: Window | None, label: str, when: date) -> Headline:
    name = f"vs {label}"
    if other is None:
        return Headline(name, "—", f"no data for {_day_label(when)}")
    if today is None or today.people is None or other.people is None:
        return Headline(name, "—", f"people on {_day_label(when)} or today are suppressed")
    if other.people == 0:
        return Headline(name, "—", f"nobody was seen on {_day_label(when)}")
    change = (today.people - other.people) / other.people
    return Headline(name, f"{change:+.0%}", f"people today against {other.people:,} on {_day_label(when)}")


def glance(data: ReportData, day: date, clock: StoreClock) -> Glance:
    """The headline figures of `day` (a store-local date)."""
    by_day = {w.day: w for w in data.store_days}
    today = by_day.get(day)
    of_day = [w for w in data.windows if w.day == day]
    hours = [w for w in of_day if w.granularity == "1h" and w.zone_id == STORE_ZONE]
    zone_days = [w for w in of_day if w.granularity == "1d"]
    yesterday, last_week = day - timedelta(days=1), day - timedelta(days=7)
    return Glance(
        day,
        (
            _people_today(today, day, data.k),
            _peak(hours, clock),
            _visit_length(data, day),
            _busiest_zone(zone_days),
            _change(today, by_day.get(yesterday), "previous day", yesterday),
            _change(today, by_day.get(last_week), f"last {last_week:%A}", last_week),
        ),
    )
