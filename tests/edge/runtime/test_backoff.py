"""Backoff: doubling, capped, jittered into the upper half, reset by a success."""

from __future__ import annotations

import random

import pytest

from anonflow.edge.runtime.backoff import Backoff


def test_delays_double_up_to_the_cap_within_the_jitter_band() -> None:
    backoff = Backoff(0.5, 4.0, rng=random.Random(7))

    delays = [backoff.next_delay() for _ in range(8)]

    ceilings = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True)), delays
    assert backoff.attempts == 8


def test_reset_starts_over_and_days_of_failures_do_not_overflow() -> None:
    backoff = Backoff(1.0, 60.0, rng=random.Random(1))
    for _ in range(100_000):
        backoff.next_delay()
    assert backoff.next_delay() <= 60.0
    backoff.reset()
    assert backoff.next_delay() <= 1.0


@pytest.mark.parametrize(("initial", "maximum"), [(0.0, 1.0), (2.0, 1.0), (-1.0, 5.0)])
def test_nonsense_bounds_are_refused(initial: float, maximum: float) -> None:
    with pytest.raises(ValueError, match="0 < initial_s <= maximum_s"):
        Backoff(initial, maximum)
