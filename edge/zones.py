"""Polygon zones and counting lines on a camera's image, in normalised coordinates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from anonflow.contract.entry import LineCrossing
from anonflow.edge.config import LineConfig, ZoneConfig

WHOLE_VIEW = "all"


@dataclass(frozen=True, slots=True)
class ZoneMap:
    """A camera's polygon zones. Without configured zones every foot point is in the zone `all`."""

    zones: tuple[ZoneConfig, ...]

    def zones_at(self, foot: npt.NDArray[np.float32]) -> list[list[str]]:
        """Ids of the zones containing each normalised foot point (float32 [N, 2])."""
        if not self.zones:
            return [[WHOLE_VIEW] for _ in range(len(foot))]
        # Foot points clipped onto the image's far edges still belong to the zones that reach those edges.
        foot = np.clip(foot, 0.0, 1.0 - 1e-6)
        inside = (
            np.stack([_inside(foot, np.asarray(z.polygon, np.float32)) for z in self.zones], axis=1)
            if len(foot)
            else np.zeros((0, len(self.zones)), bool)
        )
        return [[z.id for z, hit in zip(self.zones, row, strict=True) if hit] for row in inside]


@dataclass(frozen=True, slots=True)
class _Seen:
    """Where a track's foot last stood off a line, and on which side (+1 right, -1 left)."""

    side: int
    foot: tuple[float, float]


class LineCounter:
    """Turns each track's foot path into line crossings, with their direction.

    Walking from a line's start to its end, stepping from its left to its right is `in`. A crossing is
    a change of side whose path (from where the foot last stood off the line) passes through the line
    itself, not its extension beyond the ends. A foot exactly on the line has no side yet: stepping onto
    the line and back is no crossing, stepping on and over is one. Every crossing is counted (no
    debounce): a person lingering on a door line yields in/out pairs that cancel, never a lost one.
    """

    def __init__(self, lines: tuple[LineConfig, ...]) -> None:
        self.lines = lines
        self._seen: dict[str, dict[str, _Seen]] = {}

    def step(self, track_id: str, foot: tuple[float, float]) -> list[LineCrossing]:
        """The lines this track crossed since its last step to the normalised point `foot`."""
        seen = self._seen.setdefault(track_id, {})
        found = []
        for line in self.lines:
            side = _side(line.start, line.end, foot)
            if side == 0:
                continue
            before = seen.get(line.id)
            seen[line.id] = _Seen(side, foot)
            if before is None or before.side == side:
                continue
            # The path must pass through the line's extent, not around one of its ends.
            if _side(before.foot, foot, line.start) * _side(before.foot, foot, line.end) > 0:
                continue
            found.append(LineCrossing(line_id=line.id, direction="in" if side > 0 else "out"))
        return found

    def forget(self, track_id: str) -> None:
        """Drop an ended track's state."""
        self._seen.pop(track_id, None)


def _side(a: tuple[float, float], b: tuple[float, float], p: tuple[float, float]) -> int:
    # Image y grows downwards, so a positive cross product is the walker's right-hand side.
    cross = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
    return int(np.sign(cross))


def _inside(points: npt.NDArray[np.float32], polygon: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """Even-odd rule, vectorised over points."""
    x, y = points[:, 0:1], points[:, 1:2]
    x0, y0 = polygon[:, 0], polygon[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    straddles = (y0 > y) != (y1 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    hits: npt.NDArray[np.bool_] = (straddles & (x < x_cross)).sum(axis=1) % 2 == 1
    return hits
