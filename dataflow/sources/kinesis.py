"""Kinesis Data Streams as a Beam source: a Python splittable DoFn over boto3 (no Java expansion service).

`ReadPayloadsFromKinesis` yields `(source, payload)` pairs, the same currency as the entry files
(`source` = "kinesis:<stream>/<shard>/<sequence number>", payload = the record's data as text), each
timestamped with the record's ApproximateArrivalTimestamp. The entries inside carry their own event
times; the parse step re-stamps them.

How it reads:
- The element is a `KinesisStream`; its initial restriction is one `ShardCursor` per shard to start
  from, split into one restriction per shard so shards are read in parallel.
- Each `process()` call reads a few GetRecords batches per shard, claiming every record's sequence
  number, then checkpoints (`defer_remainder`) and is resumed after `poll_interval_s`. Positions are
  sequence numbers, so shard iterators (valid for 5 minutes) are made afresh on every resume.
- Watermark: per shard the arrival time of the last record read, or, once a shard is caught up
  (MillisBehindLatest 0 and no records), the wall clock minus `idle_lag_s`; the restriction's watermark
  is the minimum over its shards and never goes back.
- `stop_at_latest=True` ends reading once every shard is caught up: for backfills and tests.
- Limits: at most 5 GetRecords (and GetShardIterator) calls per second per shard (`ShardPacer`); a
  throttled shard backs off exponentially (1 s doubling to 30 s) while the other shards go on.

Resharding: a shard is finished when GetRecords returns no NextShardIterator, or when the shard is
closed (it has an EndingSequenceNumber) and the reader has passed that number. Its children are then
listed (ListShards) and adopted by the restriction that owned the parent; a child of a merge is adopted
only by the owner of the lower of its two parent ids, so it is read exactly once. At start, only shards
whose parents are not in the listing are read (from TRIM_HORIZON or the start time); their children
follow as above. Records on either side of a reshard are not delivered in order relative to each
other; the job does not depend on arrival order (event time, dedupe by entry id).

Not supported: enhanced fan-out (SubscribeToShard), KPL-aggregated records (IoT Core topic rules put
plain records), dynamic splitting of a running restriction (only checkpoints), reading a stream given
by ARN across accounts. Credentials and region come from the usual boto3 chain.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

import apache_beam as beam
from apache_beam.io.iobase import RestrictionProgress, RestrictionTracker
from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
from apache_beam.metrics import Metrics
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Duration, Timestamp

StartPosition = Literal["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"]


@dataclass(frozen=True, slots=True)
class KinesisStream:
    """Which stream to read and how to reach it (picklable; the boto3 client is made on the worker)."""

    stream_name: str
    region: str | None  # None: boto3's own chain (AWS_REGION, the profile, ...)
    endpoint_url: str | None = None
    start: StartPosition = "TRIM_HORIZON"
    start_timestamp_ms: int | None = None

    def __post_init__(self) -> None:
        if self.start == "AT_TIMESTAMP" and self.start_timestamp_ms is None:
            raise ValueError("start AT_TIMESTAMP needs start_timestamp_ms")

    def client(self) -> Any:
        import boto3

        return boto3.client("kinesis", region_name=self.region, endpoint_url=self.endpoint_url)


@dataclass(frozen=True, slots=True)
class ShardCursor:
    """Where reading of one shard stands.

    after_sequence: the last sequence number read (None: nothing read yet, start at `start`).
    ending_sequence: the shard's EndingSequenceNumber if it was closed when listed.
    watermark_ms: arrival time of the last record read, or the idle time once caught up.
    """

    shard_id: str
    start: Literal["TRIM_HORIZON", "AT_TIMESTAMP"] = "TRIM_HORIZON"
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
    """The shards one `process()` call is responsible for; empty means nothing is left."""

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


def _list_shards(client: Any, stream_name: str) -> list[dict[str, Any]]:
    shards: list[dict[str, Any]] = []
    response = client.list_shards(StreamName=stream_name)
    shards.extend(response["Shards"])
    while response.get("NextToken"):
        response = client.list_shards(NextToken=response["NextToken"])
        shards.extend(response["Shards"])
    return shards


def _ending(shard: dict[str, Any]) -> str | None:
    ending: str | None = shard.get("SequenceNumberRange", {}).get("EndingSequenceNumber")
    return ending


def initial_cursors(
    shards: list[dict[str, Any]], stream: KinesisStream, now_ms: int
) -> tuple[ShardCursor, ...]:
    """Cursors to start from: the shards whose parents are not listed (older ones expired or none).

    LATEST is pinned to the start time, so records put between polls before the first read are not lost.
    """
    listed = {s["ShardId"] for s in shards}
    roots = [
        s
        for s in shards
        if s.get("ParentShardId") not in listed and s.get("AdjacentParentShardId") not in listed
    ]
    if stream.start == "TRIM_HORIZON":
        return tuple(ShardCursor(s["ShardId"], ending_sequence=_ending(s)) for s in roots)
    at = now_ms if stream.start == "LATEST" else stream.start_timestamp_ms
    return tuple(ShardCursor(s["ShardId"], "AT_TIMESTAMP", at, ending_sequence=_ending(s)) for s in roots)


def children_to_adopt(shards: list[dict[str, Any]], parent_id: str) -> tuple[ShardCursor, ...]:
    """Children of a finished shard that its reader takes over (a merge's child goes to its lower parent)."""
    adopted = []
    for s in shards:
        parents = [p for p in (s.get("ParentShardId"), s.get("AdjacentParentShardId")) if p]
        if parent_id in parents and parent_id == min(parents):
            adopted.append(ShardCursor(s["ShardId"], ending_sequence=_ending(s)))
    return tuple(adopted)


class _ShardRestrictions(RestrictionProvider):
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock

    def initial_restriction(self, element: KinesisStream) -> KinesisRestriction:
        shards = _list_shards(element.client(), element.stream_name)
        return KinesisRestriction(initial_cursors(shards, element, int(self._clock() * 1000)))

    def split(self, element: KinesisStream, restriction: KinesisRestriction) -> Iterator[KinesisRestriction]:
        for cursor in restriction.cursors:
            yield KinesisRestriction((cursor,))

    def create_tracker(self, restriction: KinesisRestriction) -> KinesisRestrictionTracker:
        return KinesisRestrictionTracker(restriction)

    def restriction_size(self, element: KinesisStream, restriction: KinesisRestriction) -> float:
        return float(len(restriction.cursors))

    def truncate(self, element: KinesisStream, restriction: KinesisRestriction) -> None:
        return None  # on drain, stop reading: the stream keeps the records for the next job


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


_RESTRICTION = beam.DoFn.RestrictionParam(_ShardRestrictions(time.time))
_WATERMARK = beam.DoFn.WatermarkEstimatorParam(ManualWatermarkEstimator.default_provider())
_RETRY_LATER = frozenset(
    {"ProvisionedThroughputExceededException", "ExpiredIteratorException", "LimitExceededException"}
)


class _ReadShardsFn(beam.DoFn):
    """The splittable DoFn: reads its restriction's shards, then checkpoints or (stop_at_latest) ends."""

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
        """EndingSequenceNumber of closed shards, re-listed at most every `shard_refresh_s`.

        Kinesis itself signals a shard's end with a null NextShardIterator; the listing also catches
        shards that closed after they were first listed when an endpoint does not.
        """
        now = self._clock()
        if now - self._listed_at >= self._shard_refresh_s:
            self._listed_at = now
            self._known_endings = {
                s["ShardId"]: e
                for s in _list_shards(client, stream.stream_name)
                if (e := _ending(s)) is not None
            }
        return self._known_endings

    @beam.DoFn.unbounded_per_element()
    def process(
        self,
        stream: KinesisStream,
        tracker: Any = _RESTRICTION,
        watermark: Any = _WATERMARK,
    ) -> Iterator[TimestampedValue]:
        from botocore.exceptions import ClientError

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
                        ending = self._endings(client, stream).get(cursor.shard_id)
                        position = replace(position, ending_sequence=ending)
                    if iterator is None or position.finished():
                        children = children_to_adopt(
                            _list_shards(client, stream.stream_name), cursor.shard_id
                        )
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
            return  # every shard closed and read to its end
        if self._stop_at_latest and {c.shard_id for c in remaining} <= caught_up:
            tracker.try_claim(StopClaim())
            return
        tracker.defer_remainder(Duration.of(self._poll_interval_s))


class ReadPayloadsFromKinesis(beam.PTransform):
    """A Kinesis stream -> (source, payload) pairs timestamped with their arrival time.

    poll_interval_s: pause between reads of a caught-up shard.
    batches_per_poll / records_per_batch: GetRecords calls per shard per poll, and their Limit.
    calls_per_s: the most GetRecords (and GetShardIterator) calls per shard and second (Kinesis allows 5,
    shared by all consumers of the stream); after a throttle the shard backs off exponentially.
    idle_lag_s: how far behind the wall clock a caught-up shard's watermark stays (clock skew, put latency).
    stop_at_latest: end once every shard is caught up (backfills, tests) instead of reading forever.
    """

    def __init__(
        self,
        stream: KinesisStream,
        *,
        poll_interval_s: float = 1.0,
        batches_per_poll: int = 10,
        records_per_batch: int = 1000,
        idle_lag_s: float = 2.0,
        stop_at_latest: bool = False,
        calls_per_s: float = 5.0,
    ) -> None:
        super().__init__()
        if (
            not 0 < calls_per_s <= 5
            or poll_interval_s <= 0
            or batches_per_poll < 1
            or not 1 <= records_per_batch <= 10_000
            or idle_lag_s < 0
        ):
            raise ValueError(
                "need 0 < calls_per_s <= 5, poll_interval_s > 0, batches_per_poll >= 1, "
                "1 <= records_per_batch <= 10000, idle_lag_s >= 0"
            )
        self._stream = stream
        self._read = _ReadShardsFn(
            poll_interval_s=poll_interval_s,
            batches_per_poll=batches_per_poll,
            records_per_batch=records_per_batch,
            idle_lag_s=idle_lag_s,
            stop_at_latest=stop_at_latest,
            calls_per_s=calls_per_s,
        )

    def expand(self, begin: beam.pvalue.PBegin) -> beam.PCollection:
        stream = self._stream
        return (
            begin
            | "Impulse" >> beam.Impulse()
            | "Stream" >> beam.Map(lambda _: stream)
            | "ReadShards" >> beam.ParDo(self._read)
        )
