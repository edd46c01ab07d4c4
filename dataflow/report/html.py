"""One self-contained HTML page: inline CSS, figures as base64 PNG data URIs, no external URL."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from anonflow import __version__
from anonflow.dataflow.report import plots
from anonflow.dataflow.report.data import ReportData, load

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#222;padding:0 1rem}h1{font-size:1.5rem}
h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85rem}td,th{padding:.2rem .6rem;border-bottom:1px solid #eee;
text-align:left}td.n{text-align:right}.note{color:#666;font-size:.85rem}img{max-width:100%}
.grid{display:flex;flex-wrap:wrap;gap:1rem}
"""


@dataclass(frozen=True, slots=True)
class Report:
    """The written page and what it contains."""

    path: Path
    store_id: str
    figures: int


def _img(png: bytes | None, alt: str) -> str:
    if png is None:
        return f'<p class="note">No rows for {html.escape(alt)}.</p>'
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


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


def _privacy_note(data: ReportData) -> str:
    if not data.privacy:
        return "Cells backed by fewer than k people are not published (gaps, never zero)."
    parts = []
    for table, record in sorted(data.privacy.items()):
        noise = record.get("noise")
        perturbation = record.get("perturbation")
        if noise:
            how = f"{noise['mechanism']} noise, ε = {noise['epsilon_per_count']} per count (not DP)"
        elif perturbation:
            how = f"counts perturbed ({perturbation['method']}, at most ±3)"
        else:
            how = "exact counts"
        parts.append(f"{table}: k = {record.get('k')}, {how}")
    return "Privacy parameters (from _privacy.json): " + "; ".join(parts) + "."


def render(
    data: ReportData, time_zone: str = "UTC", backgrounds: dict[str, Path] | None = None
) -> tuple[str, int]:
    """The page as a string, and how many figures it holds."""
    zone = ZoneInfo(time_zone)
    figures = [
        ("Visitors per hour", plots.visitors_per_hour(data.footfall_hourly, zone), f"Hours in {time_zone}."),
        ("Dwell", plots.dwell(data.dwell_hourly, data.dwell_daily), "Dwell per zone from the dwell table."),
        (
            "Demographics",
            plots.demographics(data.demographics),
            "Coarse, from anonymous body crops; per day.",
        ),
        ("Flows between zones", plots.flow_matrix(data.flows), "Journeys moving from one zone to the next."),
    ]
    heat = plots.heatmaps(data.heatmap, backgrounds or {})
    period = (
        f"{data.first_date} to {data.last_date}"
        if data.first_date and data.first_date != data.last_date
        else str(data.first_date or "no data")
    )
    sections = [
        f"<h1>anonflow report — store {html.escape(data.store_id)}</h1>",
        f'<p class="note">{html.escape(period)} · written by anonflow {__version__} · '
        f"{html.escape(_privacy_note(data))}</p>",
    ]
    for title, png, note in figures:
        sections += [
            f"<h2>{html.escape(title)}</h2>",
            f'<p class="note">{html.escape(note)}</p>',
            _img(png, title),
        ]
    sections.append("<h2>Where people walk</h2>")
    if heat:
        note = "Foot-point density per camera grid" + (
            ", over each camera's head-masked background frame." if backgrounds else "."
        )
        sections.append(f'<p class="note">{html.escape(note)}</p><div class="grid">')
        sections += [_img(png, f"heatmap {camera}") for camera, png in heat.items()]
        sections.append("</div>")
    else:
        sections.append(_img(None, "heatmap"))
    sections += [
        "<h2>Suppressed cells</h2>",
        _table(("table", "rows", "suppressed"), data.cells.rows),
    ]
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>anonflow report — {html.escape(data.store_id)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(sections)
        + "</body></html>\n"
    )
    return page, sum(png is not None for _, png, _ in figures) + len(heat)


def write_report(
    db: Path,
    out: Path,
    *,
    store_id: str | None = None,
    day: date | None = None,
    time_zone: str = "UTC",
    backgrounds: dict[str, Path] | None = None,
) -> Report:
    """Read the DuckDB file, draw the figures and write one HTML file."""
    data = load(db, store_id, day)
    page, figures = render(data, time_zone, backgrounds)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return Report(out, data.store_id, figures)
