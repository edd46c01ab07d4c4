"""The report's figures, drawn with matplotlib (Agg) and returned as PNG bytes.

Each function takes the rows it plots and returns None when there is nothing to draw, so the page can
say so instead of showing an empty axis. Suppressed cells are never drawn as zero: they are gaps in the
lines, hatched cells in the matrices.
"""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: no display, no GUI toolkit

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from anonflow.contract.errors import InputError
from anonflow.dataflow.report.data import Rows

_MAX_ZONES = 8
_GENDERS = ("female", "male", "unknown")
_AGE_GROUPS = ("child", "adult", "senior", "unknown")


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def visitors_per_hour(rows: Rows, zone: tzinfo) -> bytes | None:
    """One line per zone (the busiest few) of hourly visitors; suppressed hours are gaps."""
    if not len(rows):
        return None
    series: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for zone_id, start, visitors, *_ in rows.rows:
        series[zone_id].append((start.astimezone(zone), np.nan if visitors is None else float(visitors)))
    busiest = sorted(series, key=lambda z: -np.nansum([v for _, v in series[z]]))[:_MAX_ZONES]
    figure, axis = plt.subplots(figsize=(9, 3.6))
    for zone_id in busiest:
        times, values = zip(*sorted(series[zone_id]), strict=True)
        axis.plot(times, values, marker="o", markersize=3, label=zone_id)
    axis.set_ylabel("visitors per hour")
    axis.set_xlabel(f"hour ({zone})")
    axis.xaxis.set_major_formatter(mdates.DateFormatter("%a %H:%M", tz=zone))
    axis.set_ylim(bottom=0)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, ncols=2)
    figure.autofmt_xdate()
    return _png(figure)


def dwell(hourly: Rows, daily: Rows) -> bytes | None:
    """Left: hourly median dwell, weighted by visitors. Right: daily p50 / mean / p90 per zone."""
    medians = [(p50, n) for _, n, p50, suppressed in hourly.rows if not suppressed and p50 is not None]
    if not medians and not len(daily):
        return None
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    if medians:
        values, weights = zip(*medians, strict=True)
        left.hist(values, bins=20, weights=weights, color="#4c72b0")
    left.set_xlabel("median dwell in an hour window (s)")
    left.set_ylabel("visitors")
    zones = daily.column("zone_id")
    x = np.arange(len(zones))
    for offset, name, label in (
        (-0.27, "dwell_p50_s", "p50"),
        (0.0, "dwell_mean_s", "mean"),
        (0.27, "dwell_p90_s", "p90"),
    ):
        right.bar(x + offset, [v or 0.0 for v in daily.column(name)], width=0.27, label=label)
    right.set_xticks(x, zones, rotation=30, ha="right", fontsize=8)
    right.set_ylabel("dwell per day (s)")
    right.legend(fontsize=8)
    return _png(figure)


def demographics(rows: Rows) -> bytes | None:
    """Visitors by age group, one bar per gender."""
    counts = {(g, a): n for g, a, n, _ in rows.rows}
    if not any(counts.values()):
        return None
    figure, axis = plt.subplots(figsize=(7, 3.6))
    x = np.arange(len(_AGE_GROUPS))
    for i, gender in enumerate(_GENDERS):
        axis.bar(
            x + (i - 1) * 0.27, [counts.get((gender, a), 0) for a in _AGE_GROUPS], width=0.27, label=gender
        )
    axis.set_xticks(x, _AGE_GROUPS)
    axis.set_xlabel("age group")
    axis.set_ylabel("visitors")
    axis.legend(fontsize=8)
    return _png(figure)


def flow_matrix(rows: Rows) -> bytes | None:
    """From-zone x to-zone visitors; hatched where every window of the cell was suppressed."""
    if not len(rows):
        return None
    zones = sorted(set(rows.column("from_zone")) | set(rows.column("to_zone")))
    index = {z: i for i, z in enumerate(zones)}
    matrix = np.zeros((len(zones), len(zones)))
    hidden = np.zeros_like(matrix, dtype=bool)
    for source, target, visitors, suppressed_cells in rows.rows:
        matrix[index[source], index[target]] = visitors
        hidden[index[source], index[target]] = visitors == 0 and suppressed_cells > 0
    size = max(4.0, 0.6 * len(zones) + 2)
    figure, axis = plt.subplots(figsize=(size, size * 0.85))
    image = axis.imshow(matrix, cmap="Blues")
    for i, j in zip(*np.nonzero(hidden), strict=True):
        axis.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", edgecolor="#999"))
    dark = 0.6 * matrix.max()
    for i, j in zip(*np.nonzero(matrix), strict=True):
        colour = "white" if matrix[i, j] > dark else "black"
        axis.text(j, i, f"{int(matrix[i, j])}", ha="center", va="center", fontsize=7, color=colour)
    axis.set_xticks(range(len(zones)), zones, rotation=45, ha="right", fontsize=8)
    axis.set_yticks(range(len(zones)), zones, fontsize=8)
    axis.set_xlabel("to zone")
    axis.set_ylabel("from zone")
    figure.colorbar(image, ax=axis, shrink=0.8, label="visitors")
    return _png(figure)


def heatmaps(rows: Rows, backgrounds: dict[str, Path]) -> dict[str, bytes]:
    """Per camera: foot-point density on its grid, over the camera's background frame when given."""
    by_camera: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows.rows:
        by_camera[row[0]].append(row)
    images = {}
    for camera, cells in sorted(by_camera.items()):
        grid = int(cells[0][1])
        density = np.full((grid, grid), np.nan)
        for _, _, x, y, observations, suppressed in cells:
            if not suppressed:
                density[int(y), int(x)] = observations
        figure, axis = plt.subplots(figsize=(5, 3.8))
        background = backgrounds.get(camera)
        if background is not None:
            try:
                frame = plt.imread(str(background))
            except (OSError, ValueError, SyntaxError) as error:  # PIL reports a bad PNG as SyntaxError
                raise InputError(
                    f"background image {background} for {camera} cannot be read: {error}"
                ) from None
            axis.imshow(frame, extent=(0, 1, 1, 0))
        masked = np.ma.masked_invalid(density)
        image = axis.imshow(masked, extent=(0, 1, 1, 0), cmap="inferno", alpha=0.6 if background else 1.0)
        axis.set_title(camera, fontsize=9)
        axis.set_xticks([])
        axis.set_yticks([])
        figure.colorbar(image, ax=axis, shrink=0.8, label="foot points")
        images[camera] = _png(figure)
    return images
