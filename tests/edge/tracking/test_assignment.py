"""Optimal matching under a cost limit."""

from __future__ import annotations

import numpy as np
import pytest

from anonflow.edge.tracking.assignment import match


@pytest.mark.parametrize(
    ("cost", "max_cost", "pairs"),
    [
        pytest.param([[0.1, 0.9], [0.9, 0.2]], 0.8, [(0, 0), (1, 1)], id="diagonal"),
        pytest.param([[0.3, 0.1], [0.1, 0.3]], 0.8, [(0, 1), (1, 0)], id="crossed"),
        pytest.param([[0.9, 0.95]], 0.8, [], id="all-over-limit"),
        pytest.param([[0.8]], 0.8, [], id="at-limit-is-not-a-match"),
        pytest.param([[0.1, 0.2, 0.3]], 0.8, [(0, 0)], id="one-row"),
        pytest.param([[0.2], [0.1], [0.7]], 0.8, [(1, 0)], id="one-column"),
        # A plain assignment followed by a limit filter would pick (0, 0) and (1, 1), total 1.0 < 1.1,
        # then drop both as over the limit and match nothing; the limit belongs inside the problem.
        pytest.param([[0.5, 0.1], [1.0, 0.5]], 0.5, [(0, 1)], id="limit-inside-the-optimum"),
        # One free match leaves a row and a column unmatched (max_cost / 2 each, 0.5 in all): two matches
        # win only when they cost less than that together.
        pytest.param([[0.0, 0.2], [0.2, 1.0]], 0.5, [(0, 1), (1, 0)], id="two-cheap-beat-one-free"),
        pytest.param([[0.0, 0.3], [0.3, 1.0]], 0.5, [(0, 0)], id="one-free-beats-two-dear"),
    ],
)
def test_match_table(cost: list[list[float]], max_cost: float, pairs: list[tuple[int, int]]) -> None:
    c = np.array(cost)
    result = match(c, max_cost)
    assert [tuple(p) for p in result.pairs.tolist()] == pairs
    rows, cols = {p[0] for p in pairs}, {p[1] for p in pairs}
    assert result.unmatched_rows.tolist() == [r for r in range(c.shape[0]) if r not in rows]
    assert result.unmatched_cols.tolist() == [k for k in range(c.shape[1]) if k not in cols]


@pytest.mark.parametrize("shape", [(0, 0), (0, 4), (3, 0)])
def test_empty_sides(shape: tuple[int, int]) -> None:
    result = match(np.zeros(shape), 0.8)
    assert result.pairs.shape == (0, 2)
    assert result.unmatched_rows.tolist() == list(range(shape[0]))
    assert result.unmatched_cols.tolist() == list(range(shape[1]))


def test_wrong_shape_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"cost must have shape \[N, M\], got \[3\]"):
        match(np.zeros(3), 0.8)
