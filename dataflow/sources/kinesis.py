"""Kinesis Data Streams as a Beam source: Python splittable DoFns over boto3 (no Java expansion service).

`ReadPayloadsFromKinesis` yields `(source, payload)` pairs, the same currency as the entry files
(`source` = "kinesis:<stream>/<shard>/<sequence number>", payload = the record's data as text), each
timestamped with the record's ApproximateArrivalTimestamp. The entries inside carry their own event
times; the parse step re-stamps them.

How it reads: stream -> shard discovery (`kinesis_discovery`) -> Reshuffle -> one reader per shard
(`kinesis_reader`).
- Discovery lists the shards every `discovery_interval_s` and emits each shard once, as an element of
  its own; the Reshuffle spreads these over the workers; each is read by its own restriction.
- A reader reads a few GetRecords batches per call, claiming every record's sequence number, then
  checkpoints and is resumed after `poll_interval_s`; it ends when its shard is closed and read to its
  end.
- `stop_at_latest=True` ends reading once every shard is caught up: for backfills and tests.
- Limits: at most 5 GetRecords (and GetShardIterator) calls per second per shard (`ShardPacer`); a
  throttled shard backs off exponentially (1 s doubling to 30 s) while the other shards go on.

Resharding: every shard is its own element and restriction, so parallelism follows the stream: after a
split the two children are read by two readers, which a runner may place on two workers; after a merge
one reader reads the child. Discovery emits a child once its parents have been emitted (a child exists
only once its parent is closed), so no child is read twice nor before it exists; the parent's reader
reads the parent to its end (GetRecords returns no NextShardIterator, or the listing shows it closed and
the reader has passed its EndingSequenceNumber) and ends. Records on either side of a reshard are not
delivered in order relative to each other; the job does not depend on arrival order (event time, dedupe
by entry id). With stop_at_latest, discovery lists once at the start and ends, and a child created
after that listing is read next by the reader of its parent (of its lower parent, for a merge): a
backfill reads every record once, but shards created during it do not add parallelism.

Watermark (what is guaranteed): the output watermark is the minimum of
- each reader's: the arrival time of the last record it read, or, once its shard is caught up
  (MillisBehindLatest 0 and no records), the wall clock minus `idle_lag_s`; it never goes back. A
  reader starts at its shard's lower bound (below; the earliest time for a shard listed at the start
  and read from TRIM_HORIZON), so a shard found but not yet read holds the watermark.
- discovery's: the time of its last listing minus `idle_lag_s`. A shard missing from a listing was
  created after it, so a shard not yet discovered never has records behind the watermark, unless
  Kinesis's arrival stamps run more than `idle_lag_s` behind this worker's clock. A shard found later
  is emitted with the previous listing's time (minus the lag) as its timestamp and its lower bound.
- with stop_at_latest, a reader that goes on with a child keeps its watermark, whose marks are older
  than the split (arrivals in the parent, or idle times taken while a fresh listing still showed the
  parent open), so than the child's records.
So the watermark trails the slowest shard, and, with all shards caught up, the clock by
`idle_lag_s` plus up to `discovery_interval_s`.

Runners: the reading step starts only once discovery has finished on Beam's local FnApiRunner (the
DirectRunner, `--job_endpoint=embed`), so run the stream there with stop_at_latest; Flink and Dataflow
run both steps side by side.

Not supported: enhanced fan-out (SubscribeToShard), KPL-aggregated records (IoT Core topic rules put
plain records), dynamic splitting of a running restriction (only checkpoints), reading a stream given
by ARN across accounts. Credentials and region come from the usual boto3 chain.
"""

from __future__ import annotations

import apache_beam as beam

from anonflow.dataflow.sources.kinesis_discovery import DiscoverKinesisShards
from anonflow.dataflow.sources.kinesis_reader import _ReadShardsFn
from anonflow.dataflow.sources.kinesis_shards import KinesisShard, KinesisStream, StartPosition

__all__ = ["KinesisShard", "KinesisStream", "ReadPayloadsFromKinesis", "StartPosition"]


class ReadPayloadsFromKinesis(beam.PTransform):
    """A Kinesis stream -> (source, payload) pairs timestamped with their arrival time.

    poll_interval_s: pause between reads of a caught-up shard.
    batches_per_poll / records_per_batch: GetRecords calls per shard per poll, and their Limit.
    calls_per_s: the most GetRecords (and GetShardIterator) calls per shard and second (Kinesis allows 5,
    shared by all consumers of the stream); after a throttle the shard backs off exponentially.
    idle_lag_s: how far behind the wall clock a caught-up shard's watermark stays (clock skew, put latency).
    stop_at_latest: end once every shard is caught up (backfills, tests) instead of reading forever.
    discovery_interval_s: how often the stream's shards are listed to find new ones (after a reshard).
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
        discovery_interval_s: float = 10.0,
    ) -> None:
        super().__init__()
        if (
            not 0 < calls_per_s <= 5
            or poll_interval_s <= 0
            or batches_per_poll < 1
            or not 1 <= records_per_batch <= 10_000
            or idle_lag_s < 0
            or not 0 < discovery_interval_s <= 3600
        ):
            raise ValueError(
                "need 0 < calls_per_s <= 5, poll_interval_s > 0, batches_per_poll >= 1, "
                "1 <= records_per_batch <= 10000, idle_lag_s >= 0, 0 < discovery_interval_s <= 3600"
            )
        self._stream = stream
        self._discover = DiscoverKinesisShards(
            interval_s=discovery_interval_s, idle_lag_s=idle_lag_s, stop_at_latest=stop_at_latest
        )
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
            | "DiscoverShards" >> self._discover
            | "SpreadShards" >> beam.Reshuffle()  # one shard per element, over the workers
            | "ReadShards" >> beam.ParDo(self._read)
        )
