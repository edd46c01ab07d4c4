"""Kinesis read limits per shard: calls paced to the allowed rate, exponential backoff after a throttle."""

from __future__ import annotations

import time
from collections.abc import Callable


class ShardPacer:
    """Keeps each shard within Kinesis's read limits: at most `calls_per_s` calls per shard, and after a
    throttle (ProvisionedThroughputExceeded) no call to that shard for a backoff doubling from
    `backoff_s` up to `max_backoff_s`, reset by the next successful call.

    Kinesis allows 5 GetRecords (and 5 GetShardIterator) calls per second per shard, shared by every
    consumer of the shard; a reader that calls back to back while catching up is throttled. Pacing is
    per reader instance: each shard is read by one restriction at a time.
    """

    def __init__(
        self,
        *,
        calls_per_s: float = 5.0,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if calls_per_s <= 0 or backoff_s <= 0 or max_backoff_s < backoff_s:
            raise ValueError("need calls_per_s > 0 and 0 < backoff_s <= max_backoff_s")
        self._gap_s = 1.0 / calls_per_s
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self._clock = clock
        self._sleep = sleep
        self._next_call: dict[str, float] = {}
        self._failures: dict[str, int] = {}

    def ready_in(self, shard_id: str) -> float:
        """Seconds until the shard may be called again (0: now)."""
        return max(0.0, self._next_call.get(shard_id, float("-inf")) - self._clock())

    def call(self, shard_id: str) -> None:
        """Wait, if need be, until the shard may be called; then count the call."""
        wait = self.ready_in(shard_id)
        if wait > 0:
            self._sleep(wait)
        self._next_call[shard_id] = self._clock() + self._gap_s

    def succeeded(self, shard_id: str) -> None:
        self._failures.pop(shard_id, None)

    def throttled(self, shard_id: str) -> float:
        """Record a throttle; returns the backoff before the shard's next call."""
        failures = self._failures.get(shard_id, 0) + 1
        self._failures[shard_id] = failures
        delay = min(self._max_backoff_s, self._backoff_s * 2 ** (failures - 1))
        self._next_call[shard_id] = self._clock() + delay
        return delay
