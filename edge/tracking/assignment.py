"""Optimal one-to-one matching of rows to columns under a cost limit (scipy's linear_sum_assignment)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment


@dataclass(frozen=True, slots=True)
class Matches:
    """Result of `match`.

    pairs: intp [K, 2], (row, column) matched pairs, rows ascending.
    unmatched_rows: intp [N - K], ascending. unmatched_cols: intp [M - K], ascending.
    """

    pairs: npt.NDArray[np.intp]
    unmatched_rows: npt.NDArray[np.intp]
    unmatched_cols: npt.NDArray[np.intp]


def match(cost: npt.NDArray[np.float64], max_cost: float) -> Matches:
    """Match rows to columns minimising total cost, where leaving a row or column unmatched costs
    `max_cost / 2`.

    So a pair is only ever matched when its cost is below `max_cost`, and the optimum is taken over
    feasible pairs only; this is the objective of the `lap.lapjv(extend_cost=True, cost_limit=...)` call
    the ByteTrack reference uses. Filtering an unconstrained assignment afterwards would not be: it can
    spend a row on an over-limit pair and so lose a feasible match. The limit becomes dummy rows and
    columns of an (N + M) square problem.
    """
    if cost.ndim != 2:
        raise ValueError(f"cost must have shape [N, M], got {list(cost.shape)}")
    n, m = cost.shape
    if n == 0 or m == 0:
        return Matches(np.zeros((0, 2), np.intp), np.arange(n, dtype=np.intp), np.arange(m, dtype=np.intp))
    half = max_cost / 2.0
    big = np.inf
    square = np.zeros((n + m, m + n), np.float64)
    square[:n, :m] = np.where(cost < max_cost, cost, big)
    square[:n, m:] = big
    square[n:, :m] = big
    square[np.arange(n), m + np.arange(n)] = half  # row i left unmatched
    square[n + np.arange(m), np.arange(m)] = half  # column j left unmatched
    rows, cols = linear_sum_assignment(square)
    real = (rows < n) & (cols < m)
    pairs = np.stack([rows[real], cols[real]], axis=1).astype(np.intp)
    matched_rows = np.zeros(n, bool)
    matched_cols = np.zeros(m, bool)
    matched_rows[pairs[:, 0]] = True
    matched_cols[pairs[:, 1]] = True
    return Matches(pairs, np.flatnonzero(~matched_rows), np.flatnonzero(~matched_cols))
