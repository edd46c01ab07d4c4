"""One figure of the page: a title, what it counts, and either an inline SVG or one line saying why not.

Figures are SVG with text kept as text, so a browser (and the browser test) can read titles and tick
labels. Every tick of a time axis carries its store-local time in its SVG id (`<figure key>-t-<ISO time>`),
which is how the test checks that a time axis runs forwards.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Literal

import matplotlib

matplotlib.use("Agg")  # headless: no display, no GUI toolkit

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from anonflow.dataflow.report.clock import Tick

# Suppressed cells: a grey hatch on white, the same in every figure and in the legend.
HATCH = "////"
HATCH_COLOUR = "#9a9a9a"
Kind = Literal["time", "other"]


@dataclass(frozen=True, slots=True)
class Panel:
    """One figure of the page. `svg` is None when there is nothing to draw; `empty` then says why."""

    key: str
    title: str
    counts: str
    kind: Kind
    svg: str | None = None
    empty: str | None = None


def suppressed_patch(k: int | None) -> Patch:
    """The legend entry of a hatched gap."""
    people = f"fewer than {k} people" if k else "fewer than k people"
    label = f"not published: {people} (possibly none)"
    return Patch(facecolor="white", edgecolor=HATCH_COLOUR, hatch=HATCH, label=label)


def time_axis(axis: Axes, ticks: tuple[Tick, ...]) -> None:
    """Put the ticks on the x axis and name each tick label by its local time (read by the page test)."""
    axis.set_xticks([float(mdates.date2num(t.at)) for t in ticks], [t.label for t in ticks])
    for tick, text in zip(ticks, axis.get_xticklabels(), strict=True):
        text.set_gid(f"t-{tick.local.isoformat(timespec='minutes')}")


_HEADER = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_IDS = re.compile(r'(\bid="|url\(#|href="#)([^")]+)')
# Matplotlib's Dublin Core block names its creator; it and its namespaces are all that would point outside.
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_FOREIGN_NAMESPACES = re.compile(r'\s+xmlns:(?:dc|cc|rdf)="[^"]*"')


def svg(figure: Figure, key: str) -> str:
    """The figure as an inline <svg> element (no XML prologue, no creation date), every id prefixed with
    `key` so that several figures in one page never share an id."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "anonflow"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    text = _HEADER.sub("", buffer.getvalue(), count=1)
    text = _FOREIGN_NAMESPACES.sub("", _METADATA.sub("", text, count=1))
    return _IDS.sub(lambda m: f"{m.group(1)}{key}-{m.group(2)}", text)
