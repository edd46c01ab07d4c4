"""Figures over time, on a store-local axis: people per window, per day, and per zone and window.

Windows are placed at their true UTC instants and labelled in the store's time, so a 23- or 25-hour day
is drawn as it was. Each window is a bar (never a lone dot); a suppressed window is a hatched gap the
height of the axis, with a legend saying why; no row at all (closed, nobody seen) is blank.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize

from anonflow.dataflow.journeys import STORE_ZONE
from anonflow.dataflow.report.clock import Span, StoreClock, Tick, ticks
from anonflow.dataflow.report.data import Window
from anonflow.dataflow.report.figure import HATCH, HATCH_COLOUR, Panel, suppressed_patch, svg, time_axis

_BAR = "#3b6ea5"
_MAX_ZONES = 12


def _num(instant: datetime) -> float:
    return float(mdates.date2num(instant))


def _limits(rows: list[Window], span: Span, clock: StoreClock) -> tuple[datetime, datetime]:
    """The axis range: whole store-local days for a week or a month; for a day the windows, padded to at
    least six hours so the hours read."""
    start, end = min(w.start for w in rows), max(w.end for w in rows)
    if span is not Span.DAY:
        first = clock.local(start).replace(hour=0, minute=0, second=0, microsecond=0)
        last = clock.local(end - timedelta(microseconds=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return first, last + timedelta(days=1)
    least = timedelta(hours=6)
    if end - start < least:
        pad = (least - (end - start)) / 2
        start, end = start - pad, end + pad
    return start, end


def granularity(span: Span) -> str:
    return "1d" if span is Span.MONTH else "1h"


def _window_axis(axis: Axes, rows: list[Window], span: Span, clock: StoreClock) -> None:
    start, end = _limits(rows, span, clock)
    axis.set_xlim(_num(start), _num(end))
    time_axis(axis, ticks(span, start, end, clock))
    axis.set_xlabel(f"store-local time ({clock.name})")


def people_over_time(windows: tuple[Window, ...], clock: StoreClock, span: Span, k: int | None) -> Panel:
    """The whole store's people per hour (a day or a week) or per day (a month)."""
    size = granularity(span)
    per = "hour" if size == "1h" else "day"
    title = f"People per {per}"
    counts = (
        f"distinct people seen in the store in each store-local {per}; a person present across two "
        f"{per}s counts in both"
    )
    rows = [w for w in windows if w.zone_id == STORE_ZONE and w.granularity == size]
    if not rows:
        return Panel("people", title, counts, "time", empty="No whole-store rows in this period.")
    figure, axis = plt.subplots(figsize=(10, 3.4))
    shown = [w for w in rows if w.people is not None and not w.suppressed]
    hidden = [w for w in rows if w.suppressed or w.people is None]
    if shown:
        axis.bar(
            [_num(w.start) for w in shown],
            [w.people or 0 for w in shown],
            width=[0.92 * (_num(w.end) - _num(w.start)) for w in shown],
            align="edge",
            color=_BAR,
            label=f"people per {per}",
        )
    for w in hidden:
        axis.axvspan(_num(w.start), _num(w.end), facecolor="white", edgecolor=HATCH_COLOUR, hatch=HATCH, lw=0)
    axis.set_ylim(0, max([w.people or 0 for w in shown], default=0) * 1.15 or 1)
    _window_axis(axis, rows, span, clock)
    axis.set_ylabel(f"people per {per}")
    axis.set_title(title)
    axis.grid(axis="y", alpha=0.3)
    handles = [*axis.get_legend_handles_labels()[0], *([suppressed_patch(k)] if hidden else [])]
    axis.legend(handles=handles, fontsize=8, loc="upper left")
    return Panel("people", title, counts, "time", svg(figure, "people"))


def people_per_day(days: tuple[Window, ...], clock: StoreClock, k: int | None) -> Panel:
    """One bar per store-local day of the period."""
    title = "People per day"
    counts = "distinct people seen in the store on each store-local day"
    if not days:
        return Panel("days", title, counts, "time", empty="No whole-store day rows in this period.")
    figure, axis = plt.subplots(figsize=(10, 3.0))
    for w in days:
        left, width = _num(w.start), _num(w.end) - _num(w.start)
        if w.suppressed or w.people is None:
            axis.axvspan(left, left + width, facecolor="white", edgecolor=HATCH_COLOUR, hatch=HATCH, lw=0)
        else:
            axis.bar(left, w.people, width=0.85 * width, align="edge", color=_BAR)
            axis.text(left + 0.425 * width, w.people, f"{w.people:,}", ha="center", va="bottom", fontsize=8)
    middles = tuple(
        Tick(
            w.start + (w.end - w.start) / 2, clock.local(w.start), clock.local(w.start).strftime("%a\n%d %b")
        )
        for w in days
    )
    axis.set_xlim(_num(days[0].start), _num(days[-1].end))
    time_axis(axis, middles)
    axis.set_xlabel(f"store-local day ({clock.name})")
    axis.set_ylim(0, max([w.people or 0 for w in days], default=0) * 1.2 or 1)
    axis.set_ylabel("people per day")
    axis.set_title(title)
    if any(w.suppressed for w in days):
        axis.legend(handles=[suppressed_patch(k)], fontsize=8, loc="upper left")
    return Panel("days", title, counts, "time", svg(figure, "days"))


def zones_over_time(windows: tuple[Window, ...], clock: StoreClock, span: Span, k: int | None) -> Panel:
    """Zones (rows) by window (columns), coloured by people from zero; suppressed cells hatched."""
    size = granularity(span)
    per = "hour" if size == "1h" else "day"
    title = f"People per zone and {per}"
    counts = f"distinct people seen in each zone in each store-local {per}"
    rows = [w for w in windows if w.zone_id != STORE_ZONE and w.granularity == size]
    if not rows:
        return Panel(
            "zones", title, counts, "time", empty="No zones are configured for this store's cameras."
        )
    totals: dict[str, int] = {}
    for w in rows:
        totals[w.zone_id] = totals.get(w.zone_id, 0) + (w.people or 0)
    zones = sorted(totals, key=lambda z: (-totals[z], z))[:_MAX_ZONES]
    if len(totals) > len(zones):
        counts += f" (the {len(zones)} busiest of {len(totals)} zones)"
    top = max([w.people or 0 for w in rows if not w.suppressed], default=0)
    norm = Normalize(vmin=0, vmax=max(top, 1))
    cmap = plt.get_cmap("Blues")
    figure, axis = plt.subplots(figsize=(10, 0.9 + 0.32 * len(zones)))
    for i, zone in enumerate(zones):
        for w in (w for w in rows if w.zone_id == zone):
            left, width = _num(w.start), _num(w.end) - _num(w.start)
            if w.suppressed or w.people is None:
                axis.bar(
                    left, 0.9, width, bottom=i - 0.45, align="edge", facecolor="white",
                    edgecolor=HATCH_COLOUR, hatch=HATCH, lw=0,
                )  # fmt: skip
            else:
                axis.bar(left, 0.9, width, bottom=i - 0.45, align="edge", color=cmap(norm(w.people)), lw=0)
    axis.set_yticks(np.arange(len(zones)), zones, fontsize=8)
    axis.set_ylim(len(zones) - 0.5, -0.5)
    _window_axis(axis, rows, span, clock)
    axis.set_title(title)
    figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axis, pad=0.01, label=f"people per {per}")
    if any(w.suppressed for w in rows if w.zone_id in zones):
        axis.legend(handles=[suppressed_patch(k)], fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.25))
    return Panel("zones", title, counts, "time", svg(figure, "zones"))
