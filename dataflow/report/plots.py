"""The report's figures that are not over time: visit length, demographics, flows, heatmaps.

Each returns a Panel: an SVG when there is something to draw, else one line saying why. Suppressed cells
are never drawn as zero: they are hatched (with a legend) or left out with a count of how many.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from anonflow.contract.errors import InputError
from anonflow.dataflow.journeys import STORE_ZONE
from anonflow.dataflow.report.data import ReportData, Rows
from anonflow.dataflow.report.figure import HATCH, HATCH_COLOUR, Panel, suppressed_patch, svg

_GENDERS = ("female", "male", "unknown")
_AGE_GROUPS = ("child", "adult", "senior", "unknown")
_UNKNOWN = "unknown"


def _fewer(k: int | None) -> str:
    return f"fewer than {k} people" if k else "fewer than k people"


def _cells(n: int) -> str:
    return f"{n} cell" if n == 1 else f"{n} cells"


def visit_length(data: ReportData) -> Panel:
    """Per zone (and the whole visit): median and p90 stay, averaged over the period's days."""
    title = "How long people stay"
    counts = (
        "median and 90th percentile of the time a person spent in each zone per day; 'whole store' is "
        "the visit, door to door (averaged over the days shown)"
    )
    per_zone: dict[str, list[tuple[float, float]]] = defaultdict(list)
    suppressed = withheld = 0
    for stay in data.stays:
        if stay.suppressed:
            suppressed += 1
        elif stay.p50_s is None:
            withheld += 1
        else:
            per_zone[stay.zone_id].append((stay.p50_s, stay.p90_s or stay.p50_s))
    if not per_zone:
        if withheld:
            why = f"Stay lengths are withheld: {_few_stays(data)} (see dwell/_privacy.json)."
        elif suppressed:
            why = f"Every zone-day had {_fewer(data.k)}; nothing to show."
        else:
            why = "No dwell rows in this period."
        return Panel("stay", title, counts, "other", empty=why)
    zones = sorted(per_zone, key=lambda z: (z != STORE_ZONE, z))
    names = ["whole store" if z == STORE_ZONE else z for z in zones]
    p50 = [float(np.mean([a for a, _ in per_zone[z]])) for z in zones]
    p90 = [float(np.mean([b for _, b in per_zone[z]])) for z in zones]
    unit, scale = ("minutes", 60.0) if max(p90) >= 120 else ("seconds", 1.0)
    p50, p90 = [v / scale for v in p50], [v / scale for v in p90]
    figure, axis = plt.subplots(figsize=(8, 0.8 + 0.3 * len(zones)))
    y = np.arange(len(zones))
    axis.barh(y, p90, height=0.7, color="#c6d7ea", label="p90: one in ten stayed longer")
    axis.barh(y, p50, height=0.7, color="#3b6ea5", label="median")
    axis.set_yticks(y, names, fontsize=8)
    axis.invert_yaxis()
    axis.set_xlim(0, max(p90) * 1.1 or 1)
    axis.set_xlabel(unit)
    axis.set_title(title)
    axis.legend(fontsize=8, loc="lower right")
    if suppressed:
        counts += f"; {suppressed} zone-day{'s' if suppressed != 1 else ''} with {_fewer(data.k)} left out"
    return Panel("stay", title, counts, "other", svg(figure, "stay"))


def _coverage(counts: dict[str, int], what: str) -> str:
    total = sum(counts.values())
    named = total - counts.get(_UNKNOWN, 0)
    if not total:
        return f"{what}: no one"
    return f"{what} named for {named / total:.0%} of {total:,} ({counts.get(_UNKNOWN, 0):,} unknown)"


def demographics(data: ReportData) -> Panel:
    """Gender and age group of the people in the period, each saying how many people it names."""
    title = "Who came"
    rows = data.demographics
    counts = (
        "people by coarse gender and age group read from anonymous body crops (one label per person, the "
        "majority of their readings); 'unknown' is a person the network could not name"
    )
    if not len(rows):
        return Panel("who", title, counts, "other", empty="No demographics rows in this period.")
    gender: dict[str, int] = defaultdict(int)
    age: dict[str, int] = defaultdict(int)
    hidden = 0
    for g, a, people, suppressed_cells in rows.rows:
        gender[g] += int(people)
        age[a] += int(people)
        hidden += int(suppressed_cells)
    if not sum(gender.values()):
        why = f"Every cell had {_fewer(data.k)}; nothing to show." if hidden else "Nobody was counted."
        return Panel("who", title, counts, "other", empty=why)
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2), width_ratios=(3, 5))
    for axis, labels, values, what in (
        (left, _GENDERS, gender, "Gender"),
        (right, _AGE_GROUPS, age, "Age group"),
    ):
        heights = [values.get(x, 0) for x in labels]
        colours = ["#bbbbbb" if x == _UNKNOWN else "#3b6ea5" for x in labels]
        bars = axis.bar(labels, heights, color=colours)
        axis.bar_label(bars, [f"{h:,}" for h in heights], fontsize=8)
        axis.set_ylim(0, max(heights) * 1.2 or 1)
        axis.set_ylabel("people")
        axis.set_title(_coverage(values, what), fontsize=9)
    counts += (
        f"; a gender and age group of {_fewer(data.k)} is not published, so the shares are of the people "
        "in published groups"
    )
    if hidden:
        counts += f" ({_cells(hidden)} left out)"
    return Panel("who", title, counts, "other", svg(figure, "who"))


def flows(data: ReportData) -> Panel:
    """From-zone x to-zone people with counts; suppressed pairs hatched, their numbers hidden."""
    title = "Where people go next"
    counts = "people moving from one zone (row) to the next zone they entered (column), over the period"
    rows = data.flows
    if not len(rows):
        configured = len(data.zones)
        why = (
            f"Flows need at least two zones; this store's cameras have {configured} "
            f"zone{'s' if configured != 1 else ''} configured."
            if configured < 2
            else "No zone-to-zone moves in this period. Moves are counted between zones of one camera, "
            "and across cameras only where the stores file links them."
        )
        return Panel("flows", title, counts, "other", empty=why)
    zones = sorted(set(rows.column("from_zone")) | set(rows.column("to_zone")))
    index = {z: i for i, z in enumerate(zones)}
    matrix = np.full((len(zones), len(zones)), np.nan)
    for source, target, people, _ in rows.rows:
        if people:
            matrix[index[source], index[target]] = people
    # A pair with no published count had fewer than k people moving (possibly none): the release writes
    # no row for it, so every empty pair off the diagonal is drawn as withheld.
    hidden = [
        (i, j) for i in range(len(zones)) for j in range(len(zones)) if i != j and np.isnan(matrix[i, j])
    ]
    if np.all(np.isnan(matrix)):
        why = f"Every zone-to-zone move had {_fewer(data.k)}; none can be shown."
        return Panel("flows", title, counts, "other", empty=why)
    size = max(4.5, 0.55 * len(zones) + 2.5)
    figure, axis = plt.subplots(figsize=(size + 1.5, size))
    image = axis.imshow(np.ma.masked_invalid(matrix), cmap="Blues", vmin=0)
    for i, j in hidden:
        axis.add_patch(
            Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="white", edgecolor=HATCH_COLOUR, hatch=HATCH, lw=0)
        )
    dark = 0.6 * np.nanmax(matrix)
    for i, j in zip(*np.nonzero(~np.isnan(matrix)), strict=True):
        colour = "white" if matrix[i, j] > dark else "black"
        axis.text(j, i, f"{int(matrix[i, j]):,}", ha="center", va="center", fontsize=7, color=colour)
    axis.set_xticks(range(len(zones)), zones, rotation=45, ha="right", fontsize=8)
    axis.set_yticks(range(len(zones)), zones, fontsize=8)
    axis.set_xlabel("to zone")
    axis.set_ylabel("from zone")
    axis.set_title(title)
    figure.colorbar(image, ax=axis, shrink=0.8, label="people")
    if hidden:
        axis.legend(
            handles=[suppressed_patch(data.k)], fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.3)
        )
        counts += f"; {len(hidden)} pairs with {_fewer(data.k)} (possibly none) are hatched"
    return Panel("flows", title, counts, "other", svg(figure, "flows"))


def _plate(path: Path, camera: str) -> Any:
    try:
        return plt.imread(str(path))
    except (OSError, ValueError, SyntaxError) as error:  # PIL reports a bad PNG as SyntaxError
        raise InputError(f"background image {path} for {camera} cannot be read: {error}") from None


def _few_stays(data: ReportData) -> str:
    """Why the release withheld stay statistics: percentiles of a few stays can be solved for each stay."""
    least = data.stay_min_people
    floor = f"fewer than {least} people" if least else "too few people"
    return f"each zone-day had {floor}, and percentiles of a few stays give away each stay"


def heatmaps(rows: Rows, backgrounds: dict[str, Path], k: int | None) -> list[Panel]:
    """Per camera: foot points per grid cell from zero, over the camera's person-free plate when given."""
    by_camera: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows.rows:
        by_camera[row[0]].append(row)
    panels = []
    for camera, cells in sorted(by_camera.items()):
        key = f"heat-{camera}"
        title = f"Where people walk: {camera}"
        counts = (
            "foot points (one per person per reading) in each cell of the camera's image; a cell without "
            "colour had fewer than k people (possibly none) and is not published"
        )
        background = backgrounds.get(camera)
        if background is not None:
            counts += ", over the camera's person-free background"
        grid = int(cells[0][1])
        density = np.full((grid, grid), np.nan)
        hidden = []
        for _, _, x, y, observations, suppressed in cells:
            if suppressed:
                hidden.append((int(x), int(y)))
            else:
                density[int(y), int(x)] = observations
        if np.all(np.isnan(density)):
            why = f"Every cell of {camera} had {_fewer(k)}; nothing can be shown."
            panels.append(Panel(key, title, counts, "other", empty=why))
            continue
        plate = _plate(background, camera) if background is not None else None
        figure, axis = plt.subplots(figsize=(5.2, 3.9))
        if plate is not None:
            axis.imshow(plate, extent=(0, 1, 1, 0))
        step = 1 / grid
        image = axis.imshow(
            np.ma.masked_invalid(density),
            extent=(0, 1, 1, 0),
            cmap="inferno",
            vmin=0,
            alpha=0.55 if plate is not None else 1.0,
        )
        for x, y in hidden:
            axis.add_patch(
                Rectangle(
                    (x * step, y * step), step, step, fill=False, edgecolor=HATCH_COLOUR, hatch=HATCH, lw=0
                )
            )
        axis.set_xlim(0, 1)
        axis.set_ylim(1, 0)
        axis.set_title(camera, fontsize=9)
        axis.set_xticks([])
        axis.set_yticks([])
        figure.colorbar(image, ax=axis, shrink=0.8, label="foot points")
        if hidden:
            axis.legend(
                handles=[suppressed_patch(k)], fontsize=7, loc="upper left", bbox_to_anchor=(0, -0.02)
            )
        panels.append(Panel(key, title, counts, "other", svg(figure, key)))
    return panels
