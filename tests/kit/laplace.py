"""A seeded stand-in for the DP release's sampler, so statistical tests are deterministic.

OpenDP's samplers cannot be seeded (on purpose: their randomness is the operating system's). This draws
the same distribution, discrete Laplace with P(z) proportional to exp(-|z| / scale), from a seeded
generator; tests/dataflow/test_dp.py holds it and OpenDP's sampler to one contract.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


class SeededLaplace:
    """counts + discrete Laplace noise (the difference of two geometric draws); widen > 1 draws wider
    noise than asked, the control that a distribution check can fail."""

    def __init__(self, seed: int, widen: float = 1.0) -> None:
        self._rng = np.random.default_rng(seed)
        self._widen = widen

    def __call__(self, counts: Sequence[int], scale: float) -> list[int]:
        p = 1.0 - math.exp(-1.0 / (scale * self._widen))
        noise = self._rng.geometric(p, len(counts)) - self._rng.geometric(p, len(counts))
        return [int(c + z) for c, z in zip(counts, noise, strict=True)]
