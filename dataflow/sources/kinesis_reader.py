"""Reading one shard: a splittable DoFn over a `KinesisShard` whose restriction is that shard's cursor.

Each `process()` call reads a few GetRecords batches, claiming every record's sequence number, then
checkpoints (`defer_remainder`) and is resumed after `poll_interval_s`. Positions are sequence numbers,
so shard iterators (valid for 5 minutes) are made afresh on every resume. The restriction ends when the
shard is closed and read to its end. With stop_at_latest it also ends once the shard is caught up, and a
child created after discovery's one listing joins the restriction (see `children_to_follow`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import apache_beam as beam
from apache_beam.io.iobase import RestrictionProgress, RestrictionTracker, WatermarkEstimator
from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
from apache_beam.metrics import Metrics
from apache_beam.transforms.core import RestrictionProvider, WatermarkEstimatorProvider
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import MIN_TIMESTAMP, Duration, Timestamp

from anonflow.dataflow.sources.kinesis_pacing import ShardPacer
from anonflow.dataflow.sources.kinesis_shards import (
    KinesisShard,
    KinesisStream,
    ShardStart,
    children_to_follow,
    ending,
    list_shards,
)


@dataclass(frozen=True, slots=True)
class ShardCursor:
    """Where reading of one shard stands.

    after_sequence: the last sequence number read (None: nothing read yet, start at `start`).
    ending_sequence: the shard's EndingSequenceNumber once it is known to be closed.
    watermark_ms: arrival time of the last record read, or the idle time once caught up.
    """

    shard_id: str
    start: ShardStart = "TRIM_HORIZON"
    start_timestamp_ms: int | None = None
    after_sequence: str | None = None
    ending_sequence: str | None = None
    watermark_ms: int | None = None

    def finished(self) -> bool:
        """True when the shard is closed and everything up to its end has been read."""
        if self.ending_sequence is None:
            return False
        return int(self.after_sequence or 0) >= int(self.ending_sequence)


@dataclass(frozen=True, slots=True)
class KinesisRestriction:
    """The shard one `process()` call reads (and, with stop_at_latest, children that joined it);
    empty means nothing is left."""

    cursors: tuple[ShardCursor, ...] = ()


# Claims: every change to a restriction goes through try_claim, so a checkpoint carries it.
@dataclass(frozen=True, slots=True)
class RecordClaim:
    shard_id: str
    sequence: str
    arrival_ms: int


@dataclass(frozen=True, slots=True)
class IdleClaim:
    shard_id: str
    watermark_ms: int


@dataclass(frozen=True, slots=True)
class ShardEndClaim:
    shard_id: str
    children: tuple[ShardCursor, ...] = ()


@dataclass(frozen=True, slots=True)
class StopClaim:
    """Reading ends here (stop_at_latest): no residual."""


Claim = RecordClaim | IdleClaim | ShardEndClaim | StopClaim


class KinesisRestrictionTracker(RestrictionTracker):
    """Tracks shard cursors; supports checkpoints (try_split(0)) but not splitting a running read."""

    def __init__(self, restriction: KinesisRestriction) -> None:
        self._cursors: dict[str, ShardCursor] = {c.shard_id: c for c in restriction.cursors}
        self._stopped = False

    def current_restriction(self) -> KinesisRestriction:
        return KinesisRestriction(tuple(self._cursors.values()))

    def current_progress(self) -> RestrictionProgress:
        return RestrictionProgress(completed=0.0, remaining=float(len(self._cursors)))

    def try_claim(self, position: Claim) -> bool:
        if self._stopped:
            return False
        if isinstance(position, StopClaim):
            self._stopped = True
            self._cursors = {}
            return True
        cursor = self._cursors.get(position.shard_id)
        if cursor is None:
            return False
        if isinstance(position, RecordClaim):
            self._cursors[cursor.shard_id] = replace(
                cursor,
                after_sequence=position.sequence,
                watermark_ms=max(position.arrival_ms, cursor.watermark_ms or 0),
            )
        elif isinstance(position, IdleClaim):
            self._cursors[cursor.shard_id] = replace(
                cursor, watermark_ms=max(position.watermark_ms, cursor.watermark_ms or 0)
            )
        else:
            del self._cursors[cursor.shard_id]
            for child in position.children:
                self._cursors[child.shard_id] = child
        return True

    def try_split(self, fraction_of_remainder: float) -> tuple[KinesisRestriction, KinesisRestriction] | None:
        if self._stopped or fraction_of_remainder > 0 or not self._cursors:
            return None
        residual = self.current_restriction()
        self._cursors = {}
        self._stopped = True
        return KinesisRestriction(), residual

    def check_done(self) -> bool:
        if self._cursors:
            shards = ", ".join(sorted(self._cursors))
            raise ValueError(f"Kinesis shards {shards} were neither read to their end nor checkpointed")
        return True

    def is_bounded(self) -> bool:
        return False


def first_cursor(shard: KinesisShard) -> ShardCursor:
    return ShardCursor(
        shard.shard_id, shard.start, shard.start_timestamp_ms, ending_sequence=shard.ending_sequence
    )


class _ShardRestrictions(RestrictionProvider):
    def initial_restriction(self, element: KinesisShard) -> KinesisRestriction:
        return KinesisRestriction((first_cursor(element),))

    def split(self, element: KinesisShard, restriction: KinesisRestriction) -> Iterator[KinesisRestriction]:
        yield restriction  # one shard per element already: nothing to split

    def create_tracker(self, restriction: KinesisRestriction) -> KinesisRestrictionTracker:
        return KinesisRestrictionTracker(restriction)

    def restriction_size(self, element: KinesisShard, restriction: KinesisRestriction) -> float:
        return float(len(restriction.cursors))

    def truncate(self, element: KinesisShard, restriction: KinesisRestriction) -> None:
        return None  # on drain, stop reading: the stream keeps the records for the next job


class _ShardWatermarks(WatermarkEstimatorProvider):
    """A manual watermark that starts at the shard's lower bound (`KinesisShard.not_before_ms`; the
    earliest time when unknown), so a reader holds the output watermark at its shard's records from
    its first residual on, before it has read any."""

    def initial_estimator_state(self, element: KinesisShard, restriction: KinesisRestriction) -> Timestamp:
        return (
            MIN_TIMESTAMP if element.not_before_ms is None else Timestamp(micros=element.not_before_ms * 1000)
        )

    def create_watermark_estimator(self, estimator_state: Timestamp | None) -> WatermarkEstimator:
        return ManualWatermarkEstimator(estimator_state)


_RESTRICTION = beam.DoFn.RestrictionParam(_ShardRestrictions())
_WATERMARK = beam.DoFn.WatermarkEstimatorParam(_ShardWatermarks())
_RETRY_LATER = frozenset(
    {"ProvisionedThroughputExceededException", "ExpiredIteratorException", "LimitExceededException"}
)


class _ReadShardsFn(beam.DoFn):
    """The splittable DoFn: reads its shard, then checkpoints, or ends (shard closed and read, or
    stop_at_latest and caught up)."""

    def __init__(
        self,
        *,
        poll_interval_s: float,
        batches_per_poll: int,
        records_per_batch: int,
        idle_lag_s: float,
        stop_at_latest: bool,
        shard_refresh_s: float = 30.0,
        calls_per_s: float = 5.0,
        clock: Callable[[], float] = time.time,
        pacer: ShardPacer | None = None,
    ) -> None:
        self._poll_interval_s = poll_interval_s
        self._batches_per_poll = batches_per_poll
        self._records_per_batch = records_per_batch
        self._idle_lag_ms = int(idle_lag_s * 1000)
        self._stop_at_latest = stop_at_latest
        self._shard_refresh_s = shard_refresh_s
        self._clock = clock
        self._listed_at = float("-inf")
        self._known_endings: dict[str, str] = {}
        self._client: Any = None
        self._client_for: KinesisStream | None = None
        self._calls_per_s = calls_per_s
        self._pacer = pacer
        self.records = Metrics.counter("anonflow", "kinesis_records")
        self.shards_finished = Metrics.counter("anonflow", "kinesis_shards_finished")
        self.throttled = Metrics.counter("anonflow", "kinesis_polls_throttled")

    def setup(self) -> None:
        if self._pacer is None:
            self._pacer = ShardPacer(calls_per_s=self._calls_per_s)

    def _paced(self) -> ShardPacer:
        if self._pacer is None:  # process() called without setup(), as tests drive it
            self.setup()
        assert self._pacer is not None
        return self._pacer

    def _kinesis(self, stream: KinesisStream) -> Any:
        if self._client is None or self._client_for != stream:
            self._client, self._client_for = stream.client(), stream
        return self._client

    def _iterator(self, client: Any, stream: KinesisStream, cursor: ShardCursor) -> str:
        args: dict[str, Any] = {"StreamName": stream.stream_name, "ShardId": cursor.shard_id}
        if cursor.after_sequence is not None:
            args.update(
                ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=cursor.after_sequence
            )
        elif cursor.start == "AT_TIMESTAMP":
            args.update(
                ShardIteratorType="AT_TIMESTAMP",
                Timestamp=datetime.fromtimestamp((cursor.start_timestamp_ms or 0) / 1000, UTC),
            )
        else:
            args.update(ShardIteratorType="TRIM_HORIZON")
        iterator: str = client.get_shard_iterator(**args)["ShardIterator"]
        return iterator

    def _endings(self, client: Any, stream: KinesisStream) -> dict[str, str]:
        """EndingSequenceNumber of closed shards, re-listed at most every `shard_refresh_s` (always with
        stop_at_latest: a shard that has just closed must not pass for caught up).

        Kinesis itself signals a shard's end with a null NextShardIterator; the listing also catches
        shards that closed after they were first listed when an endpoint does not.
        """
        now = self._clock()
        if self._stop_at_latest or now - self._listed_at >= self._shard_refresh_s:
            self._listed_at = now
            self._known_endings = {
                s["ShardId"]: e
                for s in list_shards(client, stream.stream_name)
                if (e := ending(s)) is not None
            }
        return self._known_endings

    def _next_shards(self, client: Any, shard: KinesisShard, finished_id: str) -> tuple[ShardCursor, ...]:
        """Children this reader goes on with after `finished_id`: none unless discovery has ended."""
        if shard.listed is None:
            return ()  # discovery emits them as elements of their own
        children = children_to_follow(
            list_shards(client, shard.stream.stream_name), finished_id, shard.listed
        )
        return tuple(ShardCursor(s["ShardId"], ending_sequence=ending(s)) for s in children)

    @beam.DoFn.unbounded_per_element()
    def process(
        self,
        shard: KinesisShard,
        tracker: Any = _RESTRICTION,
        watermark: Any = _WATERMARK,
    ) -> Iterator[TimestampedValue]:
        from botocore.exceptions import ClientError

        stream = shard.stream
        client = self._kinesis(stream)
        pacer = self._paced()
        caught_up: set[str] = set()
        for cursor in tracker.current_restriction().cursors:
            position = cursor
            if pacer.ready_in(cursor.shard_id) > self._poll_interval_s:
                continue  # backing off after a throttle: this shard waits for a later poll
            try:
                pacer.call(cursor.shard_id)
                iterator: str | None = self._iterator(client, stream, cursor)
                for _ in range(self._batches_per_poll):
                    pacer.call(cursor.shard_id)
                    response = client.get_records(ShardIterator=iterator, Limit=self._records_per_batch)
                    pacer.succeeded(cursor.shard_id)
                    for record in response["Records"]:
                        arrival_ms = int(record["ApproximateArrivalTimestamp"].timestamp() * 1000)
                        sequence = record["SequenceNumber"]
                        if not tracker.try_claim(RecordClaim(cursor.shard_id, sequence, arrival_ms)):
                            return
                        self.records.inc()
                        position = replace(position, after_sequence=sequence)
                        source = f"kinesis:{stream.stream_name}/{cursor.shard_id}/{sequence}"
                        payload = bytes(record["Data"]).decode("utf-8", errors="replace")
                        yield TimestampedValue((source, payload), Timestamp(micros=arrival_ms * 1000))
                    iterator = response.get("NextShardIterator")
                    idle = not response["Records"] and int(response.get("MillisBehindLatest", 0)) == 0
                    if idle and position.ending_sequence is None:
                        position = replace(
                            position, ending_sequence=self._endings(client, stream).get(cursor.shard_id)
                        )
                    if iterator is None or position.finished():
                        children = self._next_shards(client, shard, cursor.shard_id)
                        if not tracker.try_claim(ShardEndClaim(cursor.shard_id, children)):
                            return
                        self.shards_finished.inc()
                        break
                    if idle:
                        idle_ms = int(self._clock() * 1000) - self._idle_lag_ms
                        if not tracker.try_claim(IdleClaim(cursor.shard_id, idle_ms)):
                            return
                        caught_up.add(cursor.shard_id)
                        break
            except ClientError as error:
                # Throttled or a stale iterator: this shard waits for the next poll; anything else is real.
                code = error.response.get("Error", {}).get("Code")
                if code not in _RETRY_LATER:
                    raise
                self.throttled.inc()
                if code != "ExpiredIteratorException":
                    pacer.throttled(cursor.shard_id)

        remaining = tracker.current_restriction().cursors
        marks = [c.watermark_ms for c in remaining]
        if remaining and all(m is not None for m in marks):
            mark = Timestamp(micros=min(m for m in marks if m is not None) * 1000)
            current = watermark.current_watermark()
            if current is None or mark > current:
                watermark.set_watermark(mark)
        if not remaining:
            return  # the shard (and any child that joined it) closed and read to its end
        if self._stop_at_latest and {c.shard_id for c in remaining} <= caught_up:
            tracker.try_claim(StopClaim())
            return
        tracker.defer_remainder(Duration.of(self._poll_interval_s))
