"""Shard discovery: a splittable DoFn over a `KinesisStream` that lists its shards every `interval_s` and
emits each shard once, as a `KinesisShard` element of its own.

Emitted once by construction: the restriction carries the ids already emitted (pruned to those still
listed, so it stays as small as the stream's retained shards), and it is the only restriction of the
stream. Within a listing, parents are emitted before their children; a child exists only once its
parent is closed, so it is never read before it exists nor by two readers.

Watermark: taken before each listing, minus `idle_lag_s`. A shard missing from a listing was created
after it, so its records arrive after that time: a shard found later is emitted with the time of the
listing before (minus the lag) as its timestamp and lower bound, and the discovery's watermark never
passes a shard it has not found yet. Readers hold their own shard's watermark from there on.

stop_at_latest (backfills, tests): one listing, every shard in it emitted with the listing attached
(`KinesisShard.listed`), then discovery ends; a shard created after that listing is read by the reader
of its parent. Runners that run a step only once the one before it has finished (Beam's local
FnApiRunner behind the DirectRunner and `--job_endpoint=embed`) need this mode.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.io.iobase import RestrictionProgress, RestrictionTracker
from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
from apache_beam.metrics import Metrics
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import MIN_TIMESTAMP, Duration, Timestamp

from anonflow.dataflow.sources.kinesis_shards import (
    KinesisShard,
    KinesisStream,
    ending,
    in_family_order,
    list_shards,
)

_RETRY_LATER = frozenset({"LimitExceededException", "ResourceInUseException"})


@dataclass(frozen=True, slots=True)
class DiscoveryState:
    """The discovery restriction.

    emitted: ids of the shards emitted so far (and still listed).
    listed_at_ms: wall time (epoch ms) taken just before the last listing; None before the first.
    start_ms: the job's start position for LATEST (pinned at the start) or AT_TIMESTAMP.
    done: nothing is left to do (stop_at_latest after its listing, or the primary of a checkpoint).
    """

    emitted: frozenset[str] = frozenset()
    listed_at_ms: int | None = None
    start_ms: int | None = None
    done: bool = False


class DiscoveryTracker(RestrictionTracker):
    """Claims are whole new states, one per listing; supports checkpoints (try_split(0)) only."""

    def __init__(self, state: DiscoveryState) -> None:
        self._state = state
        self._checkpointed = False

    def current_restriction(self) -> DiscoveryState:
        return self._state

    def current_progress(self) -> RestrictionProgress:
        return RestrictionProgress(completed=0.0, remaining=0.0 if self._state.done else 1.0)

    def try_claim(self, position: DiscoveryState) -> bool:
        if self._checkpointed or self._state.done:
            return False
        self._state = position
        return True

    def try_split(self, fraction_of_remainder: float) -> tuple[DiscoveryState, DiscoveryState] | None:
        if fraction_of_remainder > 0 or self._checkpointed or self._state.done:
            return None
        self._checkpointed = True
        return DiscoveryState(done=True), self._state

    def check_done(self) -> bool:
        if not (self._state.done or self._checkpointed):
            raise ValueError("Kinesis shard discovery neither finished nor checkpointed")
        return True

    def is_bounded(self) -> bool:
        return False


class _DiscoveryRestrictions(RestrictionProvider):
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock

    def initial_restriction(self, element: KinesisStream) -> DiscoveryState:
        # LATEST is pinned to the start time, so records put between the listing and the first read count.
        if element.start == "LATEST":
            return DiscoveryState(start_ms=int(self._clock() * 1000))
        return DiscoveryState(start_ms=element.start_timestamp_ms)

    def create_tracker(self, restriction: DiscoveryState) -> DiscoveryTracker:
        return DiscoveryTracker(restriction)

    def restriction_size(self, element: KinesisStream, restriction: DiscoveryState) -> float:
        return 0.0 if restriction.done else 1.0

    def truncate(self, element: KinesisStream, restriction: DiscoveryState) -> None:
        return None  # on drain, stop discovering


def describe(
    shard: dict[str, Any],
    stream: KinesisStream,
    state: DiscoveryState,
    lag_ms: int,
    listed: frozenset[str] | None,
) -> KinesisShard:
    """The element for a newly listed shard (see `KinesisShard` for where each field comes from)."""
    shard_id, closed_at = shard["ShardId"], ending(shard)
    if state.listed_at_ms is not None:  # appeared after an earlier listing: all of it is new
        since = state.listed_at_ms - lag_ms
        return KinesisShard(stream, shard_id, ending_sequence=closed_at, not_before_ms=since, listed=listed)
    if stream.start == "TRIM_HORIZON":
        return KinesisShard(stream, shard_id, ending_sequence=closed_at, listed=listed)
    return KinesisShard(
        stream,
        shard_id,
        "AT_TIMESTAMP",
        state.start_ms,
        ending_sequence=closed_at,
        not_before_ms=state.start_ms,
        listed=listed,
    )


_DISCOVERY = beam.DoFn.RestrictionParam(_DiscoveryRestrictions(time.time))
_WATERMARK = beam.DoFn.WatermarkEstimatorParam(ManualWatermarkEstimator.default_provider())


class _DiscoverShardsFn(beam.DoFn):
    def __init__(
        self,
        *,
        interval_s: float,
        idle_lag_s: float,
        stop_at_latest: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._interval_s = interval_s
        self._lag_ms = int(idle_lag_s * 1000)
        self._stop_at_latest = stop_at_latest
        self._clock = clock
        self._client: Any = None
        self._client_for: KinesisStream | None = None
        self.discovered = Metrics.counter("anonflow", "kinesis_shards_discovered")
        self.throttled = Metrics.counter("anonflow", "kinesis_listings_throttled")

    def _kinesis(self, stream: KinesisStream) -> Any:
        if self._client is None or self._client_for != stream:
            self._client, self._client_for = stream.client(), stream
        return self._client

    @beam.DoFn.unbounded_per_element()
    def process(
        self,
        stream: KinesisStream,
        tracker: Any = _DISCOVERY,
        watermark: Any = _WATERMARK,
    ) -> Iterator[TimestampedValue]:
        from botocore.exceptions import ClientError

        state: DiscoveryState = tracker.current_restriction()
        now_ms = int(self._clock() * 1000)
        try:
            shards = in_family_order(list_shards(self._kinesis(stream), stream.stream_name))
        except ClientError as error:
            # Throttled (ListShards is limited per stream) or the stream is being updated: list later.
            if error.response.get("Error", {}).get("Code") not in _RETRY_LATER:
                raise
            self.throttled.inc()
            tracker.defer_remainder(Duration.of(self._interval_s))
            return
        ids = frozenset(s["ShardId"] for s in shards)
        new = [s for s in shards if s["ShardId"] not in state.emitted]
        listed = ids if self._stop_at_latest else None
        found = [describe(s, stream, state, self._lag_ms, listed) for s in new]
        claimed = DiscoveryState(
            emitted=(state.emitted & ids) | {s.shard_id for s in found},
            listed_at_ms=now_ms,
            start_ms=state.start_ms,
            done=self._stop_at_latest,
        )
        if not tracker.try_claim(claimed):
            return
        for shard in found:
            self.discovered.inc()
            since = (
                MIN_TIMESTAMP if shard.not_before_ms is None else Timestamp(micros=shard.not_before_ms * 1000)
            )
            yield TimestampedValue(shard, since)
        if self._stop_at_latest:
            return
        mark = Timestamp(micros=(now_ms - self._lag_ms) * 1000)
        current = watermark.current_watermark()
        if current is None or mark > current:
            watermark.set_watermark(mark)
        tracker.defer_remainder(Duration.of(self._interval_s))


class DiscoverKinesisShards(beam.PTransform):
    """KinesisStream elements -> one `KinesisShard` element per shard, each emitted once, new shards as
    the stream reshards (listing every `interval_s` seconds; once with stop_at_latest).

    idle_lag_s: how far behind the listing time the discovery's watermark stays (clock skew between
    this worker and Kinesis's arrival stamps).
    """

    def __init__(
        self, *, interval_s: float = 10.0, idle_lag_s: float = 2.0, stop_at_latest: bool = False
    ) -> None:
        super().__init__()
        if not 0 < interval_s <= 3600 or idle_lag_s < 0:
            raise ValueError("need 0 < interval_s <= 3600 (shard discovery) and idle_lag_s >= 0")
        self._discover = _DiscoverShardsFn(
            interval_s=interval_s, idle_lag_s=idle_lag_s, stop_at_latest=stop_at_latest
        )

    def expand(self, streams: beam.PCollection) -> beam.PCollection:
        return streams | "ListShards" >> beam.ParDo(self._discover)
