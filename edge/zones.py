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
    """A camera's zones and lines. Without configured zones every foot point is in the zone `all`."""

    zones: tuple[ZoneConfig, ...]
    lines: tuple[LineConfig, ...]

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

    def crossings(self, before: tuple[float, float], after: tuple[float, float]) -> list[LineCrossing]:
        """Lines the step from `before` to `after` crosses, with the direction of each crossing.

        Walking from a line's start to its end, stepping from its left to its right is `in`.
        """
        found = []
        for line in self.lines:
            side_before = _side(line.start, line.end, before)
            side_after = _side(line.start, line.end, after)
            if 0 in (side_before, side_after) or side_before == side_after:
                continue
            # The step must also straddle the line's extent, not just its infinite extension.
            if _side(before, after, line.start) * _side(before, after, line.end) > 0:
                continue
            found.append(LineCrossing(line_id=line.id, direction="in" if side_after > 0 else "out"))
        return found


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
