"""Zones (point in polygon) and counting lines (crossing and its direction)."""

from __future__ import annotations

import numpy as np
import pytest

from anonflow.edge.config import LineConfig, ZoneConfig
from anonflow.edge.zones import WHOLE_VIEW, LineCounter, ZoneMap

SQUARE = ZoneConfig(id="left", polygon=[(0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)])
TRIANGLE = ZoneConfig(id="tri", polygon=[(0.4, 0.4), (0.9, 0.4), (0.65, 0.9)])
# A horizontal line drawn left to right: walking down the image crosses it from its left to its right.
DOOR = LineConfig(id="door", start=(0.2, 0.5), end=(0.8, 0.5))


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ((0.1, 0.5), ["left"]),
        ((0.45, 0.45), ["left", "tri"]),
        ((0.65, 0.6), ["tri"]),
        ((0.95, 0.1), []),
        ((0.65, 0.95), []),
    ],
)
def test_zones_at(point: tuple[float, float], expected: list[str]) -> None:
    zones = ZoneMap((SQUARE, TRIANGLE))
    assert zones.zones_at(np.array([point], np.float32)) == [expected]


def test_no_zones_means_whole_view() -> None:
    assert ZoneMap(()).zones_at(np.array([[0.3, 0.3], [0.9, 0.9]], np.float32)) == [
        [WHOLE_VIEW],
        [WHOLE_VIEW],
    ]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ((0.5, 0.4), (0.5, 0.6), [("door", "in")]),
        ((0.5, 0.6), (0.5, 0.4), [("door", "out")]),
        ((0.1, 0.4), (0.1, 0.6), []),  # beside the line's end: no crossing
        ((0.3, 0.4), (0.7, 0.45), []),  # along one side
        ((0.5, 0.4), (0.5, 0.5), []),  # stepping onto the line is not yet a crossing
    ],
)
def test_crossings(
    before: tuple[float, float], after: tuple[float, float], expected: list[tuple[str, str]]
) -> None:
    counter = LineCounter((DOOR,))
    assert counter.step("t", before) == []
    found = counter.step("t", after)
    assert [(c.line_id, c.direction) for c in found] == expected


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"id": "z", "polygon": [(0, 0), (1, 1)]}, "at least 3"),
        ({"id": "z", "polygon": [(0, 0), (1.2, 1), (0, 1)]}, "less than or equal to 1"),
        ({"id": "bad id", "polygon": [(0, 0), (1, 0), (0, 1)]}, "String should match"),
    ],
)
def test_zone_config_is_checked(config: dict[str, object], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        ZoneConfig.model_validate(config)


def test_degenerate_line_is_rejected() -> None:
    with pytest.raises(ValueError, match="start and end must differ"):
        LineConfig(id="l", start=(0.5, 0.5), end=(0.5, 0.5))


def test_points_on_the_far_image_edges_are_inside_full_frame_zones() -> None:
    whole = ZoneConfig(id="whole", polygon=[(0, 0), (1, 0), (1, 1), (0, 1)])
    corners = np.array([[1.0, 1.0], [0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], np.float32)
    assert ZoneMap((whole,)).zones_at(corners) == [["whole"]] * 4
