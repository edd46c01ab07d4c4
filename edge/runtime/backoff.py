"""Exponential backoff with jitter, for camera reconnects and transport retries."""

from __future__ import annotations

import random


class Backoff:
    """Delays that double from `initial_s` up to `maximum_s`, each drawn in [delay/2, delay].

    Jitter keeps a fleet of gateways (or a store's cameras) from reconnecting in lockstep after an outage.
    """

    def __init__(self, initial_s: float, maximum_s: float, rng: random.Random | None = None) -> None:
        if not 0 < initial_s <= maximum_s:
            raise ValueError(f"need 0 < initial_s <= maximum_s, got {initial_s}, {maximum_s}")
        self.initial_s = initial_s
        self.maximum_s = maximum_s
        self._rng = rng or random.Random()
        self._attempt = 0

    @property
    def attempts(self) -> int:
        """Failures since the last reset."""
        return self._attempt

    def next_delay(self) -> float:
        """The delay before the next attempt; each call counts one more failure."""
        # The exponent is capped so days of failures cannot overflow the float.
        ceiling = min(self.maximum_s, self.initial_s * 2.0 ** min(self._attempt, 60))
        self._attempt += 1
        return ceiling * (0.5 + 0.5 * self._rng.random())

    def reset(self) -> None:
        self._attempt = 0
