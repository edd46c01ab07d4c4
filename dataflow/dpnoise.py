"""Noise for the differential-privacy mode, from OpenDP's samplers (never hand-written ones).

OpenDP's Laplace measurement over integer vectors draws *discrete* Laplace noise (P(z) proportional to
exp(-|z| / scale)) with exact arithmetic from the operating system's secure random source, so there is
no floating-point leak of the true value (the attack on naive Laplace samplers). The library also does
the accounting: the scale for a sensitivity and an epsilon is found by OpenDP's own binary search over its
privacy map, so the epsilon recorded in `_privacy.json` is what the library proves, not our arithmetic.

OpenDP keeps `make_laplace` behind its "contrib" feature flag, which is enabled here.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Protocol

import opendp.prelude as dp

dp.enable_features("contrib")


class Noise(Protocol):
    """counts + discrete Laplace noise of the given scale, one independent draw per count."""

    def __call__(self, counts: Sequence[int], scale: float) -> list[int]: ...


def _measurement(scale: float) -> Any:
    return dp.m.make_laplace(dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int), scale=scale)


@lru_cache(maxsize=256)
def laplace_scale(sensitivity: int, epsilon: float) -> float:
    """The smallest scale whose release of a count vector with this L1 sensitivity costs <= epsilon."""
    return float(dp.binary_search_param(_measurement, d_in=sensitivity, d_out=epsilon))


def privacy_loss(sensitivity: int, scale: float) -> float:
    """The epsilon OpenDP proves for one release at this scale and L1 sensitivity."""
    return float(_measurement(scale).map(sensitivity))


class OpenDpNoise:
    """The production sampler (picklable: the measurement is built where it runs)."""

    def __call__(self, counts: Sequence[int], scale: float) -> list[int]:
        return [int(v) for v in _measurement(scale)(list(counts))] if counts else []
