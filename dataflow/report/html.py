"""One self-contained HTML page: inline CSS and inline SVG figures, no script, no external URL."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from anonflow import __version__
from anonflow.dataflow.report import plots, timeplots
from anonflow.dataflow.report.clock import Span, StoreClock, resolve, span_of
from anonflow.dataflow.report.data import ReportData, load
from anonflow.dataflow.report.figure import Panel
from anonflow.dataflow.report.glance import Glance, glance

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#222;padding:0 1rem}h1{font-size:1.5rem;margin-bottom:.2rem}
h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}h3{font-size:1rem;margin:.2rem 0}
table{border-collapse:collapse;font-size:.85rem}td,th{padding:.2rem .6rem;border-bottom:1px solid #eee;
text-align:left}td.n{text-align:right}.note{color:#666;font-size:.85rem}
svg{max-width:100%;height:auto}figure[data-kind=time] svg{width:100%}figure{margin:1rem 0}
.counts{color:#555;font-size:.85rem;margin:.1rem 0 .4rem}
.empty{background:#f6f6f6;border-left:3px solid #bbb;padding:.5rem .8rem;font-size:.9rem}
.grid{display:flex;flex-wrap:wrap;gap:1rem}.grid figure{flex:1 1 320px;margin:0}
.glance{display:grid;grid-template-columns:repeat(auto-fill,minmax(155px,1fr));gap:.8rem;margin:1rem 0}
.glance div{border:1px solid #e2e2e2;border-radius:6px;padding:.6rem .8rem}
.glance dt{font-size:.8rem;color:#555}.glance dd{margin:.1rem 0;font-size:1.2rem;font-weight:600}
.glance p{margin:0;font-size:.75rem;color:#666}
.synthetic{background:#fff4d6;border:1px solid #e0b84c;padding:.6rem .8rem;border-radius:6px}
"""


@dataclass(frozen=True, slots=True)
class Report:
    """The written page and what it contains."""

    path: Path
    store_id: str
    figures: int
    empty: int


def _table(header: tuple[str, ...], rows: list[tuple[object, ...]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{v}</td>' if isinstance(v, int | float) else f"<td>{html.escape(str(v))}</td>"
            for v in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


_NOT_PUBLISHED = "cells not published (fewer than k people or a DP count ≤ 0; possibly none)"


def _privacy_note(data: ReportData) -> str:
    if not data.privacy:
        return "Cells backed by fewer than k people are not published (left out, never zero)."
    parts = []
    for table, record in sorted(data.privacy.items()):
        if record.get("differentially_private"):
            parts.append(
                f"{table}: differentially private, ε = {record.get('table_epsilon', 0):.3g} of "
                f"{record.get('epsilon_per_store_day')} per store-day (noisy counts; a missing row: about 0)"
            )
            continue
        perturbation = record.get("perturbation")
        how = f"counts perturbed ({perturbation['method']}, at most ±3)" if perturbation else "exact counts"
        parts.append(f"{table}: k = {record.get('k')}, {how}")
    return "Privacy parameters (from _privacy.json): " + "; ".join(parts) + "."


def _panel(panel: Panel) -> str:
    body = panel.svg if panel.svg is not None else f'<p class="empty">{html.escape(panel.empty or "")}</p>'
    return (
        f'<figure id="fig-{html.escape(panel.key)}" data-kind="{panel.kind}">'
        f"<figcaption><h3>{html.escape(panel.title)}</h3>"
        f'<p class="counts">{html.escape(panel.counts)}</p></figcaption>{body}</figure>'
    )


def _glance(day_glance: Glance) -> str:
    cards = "".join(
        f"<div><dt>{html.escape(h.label)}</dt><dd>{html.escape(h.value)}</dd><p>{html.escape(h.counts)}</p></div>"
        for h in day_glance.headlines
    )
    return (
        f"<h2>The day at a glance: {day_glance.day:%A %d %B %Y}</h2>"
        f'<dl class="glance" id="glance">{cards}</dl>'
    )


def panels(data: ReportData, clock: StoreClock, backgrounds: dict[str, Path]) -> dict[str, list[Panel]]:
    """Every figure of the page, by section."""
    first, last = data.first_date, data.last_date
    span = span_of(first, last) if first and last else Span.DAY
    in_period = tuple(w for w in data.store_days if first and last and first <= w.day <= last)
    over_time = [timeplots.people_over_time(data.windows, clock, span, data.k)]
    if span is Span.WEEK:  # a month's first figure is already per day
        over_time.append(timeplots.people_per_day(in_period, clock, data.k))
    over_time.append(timeplots.zones_over_time(data.windows, clock, span, data.k))
    return {
        "People over time": over_time,
        "How long people stay": [plots.visit_length(data)],
        "Who came": [plots.demographics(data)],
        "Where people go next": [plots.flows(data)],
        "Where people walk": plots.heatmaps(data.heatmap, backgrounds, data.k)
        or [
            Panel(
                "heat",
                "Where people walk",
                "foot points per cell of each camera's image",
                "other",
                empty="No heatmap rows in this period.",
            )
        ],
    }


def render(
    data: ReportData, clock: StoreClock, backgrounds: dict[str, Path] | None = None
) -> tuple[str, list[Panel]]:
    """The page as a string, and its figures."""
    sections_by_title = panels(data, clock, backgrounds or {})
    period = (
        f"{data.first_date:%a %d %b %Y} to {data.last_date:%a %d %b %Y}"
        if data.first_date and data.last_date and data.first_date != data.last_date
        else (f"{data.first_date:%a %d %b %Y}" if data.first_date else "no data")
    )
    sections = [
        f"<h1>Store {html.escape(data.store_id)}</h1>",
        f'<p class="note">{html.escape(period)} · times in store-local time, {html.escape(clock.name)} '
        f"({html.escape(clock.source)}) · written by anonflow {__version__}</p>",
    ]
    if data.synthetic is not None:
        note = str(data.synthetic.get("note", "Synthetic data."))
        sections.append(
            f'<p class="synthetic" id="synthetic"><strong>Synthetic data.</strong> {html.escape(note)}</p>'
        )
    if data.last_date is not None:
        sections.append(_glance(glance(data, data.last_date, clock)))
    all_panels: list[Panel] = []
    for title, section in sections_by_title.items():
        sections.append(f"<h2>{html.escape(title)}</h2>")
        if title == "Where people walk" and len(section) > 1:
            sections.append('<div class="grid">' + "".join(_panel(p) for p in section) + "</div>")
        else:
            sections += [_panel(p) for p in section]
        all_panels += section
    sections += [
        "<h2>Privacy and suppressed cells</h2>",
        f'<p class="note">{html.escape(_privacy_note(data))}</p>',
        _table(
            ("table", "rows", "suppressed", _NOT_PUBLISHED),
            [(*row, data.unpublished.get(str(row[0]), "—")) for row in data.cells.rows],
        ),
    ]
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>anonflow report — {html.escape(data.store_id)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(sections)
        + "</body></html>\n"
    )
    return page, all_panels


def write_report(
    db: Path,
    out: Path,
    *,
    store_id: str | None = None,
    day: date | None = None,
    time_zone: str | None = None,
    stores: Path | None = None,
    backgrounds: dict[str, Path] | None = None,
) -> Report:
    """Read the DuckDB file, draw the figures and write one HTML file."""
    data = load(db, store_id, day)
    clock = resolve(data.store_id, data.store_days, time_zone, stores)
    page, figures = render(data, clock, backgrounds)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    drawn = sum(p.svg is not None for p in figures)
    return Report(out, data.store_id, drawn, len(figures) - drawn)
