"""IoU between pixel boxes, including boxes with no area."""

from __future__ import annotations

import re

import numpy as np
import pytest

from anonflow.edge.tracking.iou import iou_matrix

BOX = (0.0, 0.0, 10.0, 10.0)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        pytest.param(BOX, BOX, 1.0, id="identical"),
        pytest.param(BOX, (20, 20, 30, 30), 0.0, id="disjoint"),
        pytest.param(BOX, (10, 0, 20, 10), 0.0, id="touching-edges"),
        pytest.param(BOX, (5, 0, 15, 10), 50 / 150, id="half-shifted"),
        pytest.param(BOX, (2, 2, 7, 7), 25 / 100, id="contained"),
        pytest.param(BOX, (-5, -5, 5, 5), 25 / 175, id="corner-overlap-negative-coordinates"),
        pytest.param(BOX, (5, 5, 5, 5), 0.0, id="point-inside"),
        pytest.param(BOX, (0, 0, 10, 0), 0.0, id="zero-height"),
        pytest.param((5, 5, 5, 5), (5, 5, 5, 5), 0.0, id="two-points"),
        pytest.param(BOX, (8, 8, 2, 2), 0.0, id="inverted"),
        pytest.param((0, 0, 1e5, 1e5), (0, 0, 1e5, 5e4), 0.5, id="huge"),
    ],
)
def test_iou_pairs(a: tuple[float, ...], b: tuple[float, ...], expected: float) -> None:
    forward = iou_matrix(np.array([a]), np.array([b]))
    backward = iou_matrix(np.array([b]), np.array([a]))
    assert forward.shape == (1, 1)
    assert forward[0, 0] == pytest.approx(expected)
    assert backward[0, 0] == pytest.approx(expected)


@pytest.mark.parametrize(("n", "m"), [(0, 0), (0, 3), (3, 0), (2, 3)])
def test_iou_matrix_shape(n: int, m: int) -> None:
    rng = np.random.default_rng(n * 10 + m)
    corners = rng.uniform(0, 100, (n + m, 2))
    boxes = np.hstack([corners, corners + rng.uniform(1, 50, (n + m, 2))]).astype(np.float32)
    out = iou_matrix(boxes[:n], boxes[n:])
    assert out.shape == (n, m) and out.dtype == np.float64
    assert np.all((out >= 0) & (out <= 1))


@pytest.mark.parametrize("shape", [(3,), (2, 5), (1, 4, 1)])
def test_wrong_shape_is_a_value_error(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=re.escape(f"a must have shape [N, 4], got {list(shape)}")):
        iou_matrix(np.zeros(shape), np.zeros((1, 4)))
