"""The per-shard reader driven as a runner drives it (read, checkpoint, resume from the residual) against
moto's Kinesis: no repeats across checkpoints, the watermark from the shard's lower bound to the clock,
and at a split: the parent's reader ends (its children are discovery's), or, after discovery's one
listing (stop_at_latest), goes on with the children.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from apache_beam.runners.sdf_utils import RestrictionTrackerView, ThreadsafeRestrictionTracker
from apache_beam.utils.timestamp import MIN_TIMESTAMP, Timestamp

from anonflow.dataflow.sources.kinesis_reader import (
    IdleClaim,
    KinesisRestriction,
    KinesisRestrictionTracker,
    RecordClaim,
    ShardCursor,
    ShardEndClaim,
    StopClaim,
    _ReadShardsFn,
    _ShardWatermarks,
    first_cursor,
)
from anonflow.dataflow.sources.kinesis_shards import KinesisShard, KinesisStream
from tests.dataflow.sources.kinesis_fakes import (
    REGION,
    STREAM,
    drive_reader,
    in_process_kinesis,
    kinesis_like_resharding,
    put,
    stored,
)

PARENT, LEFT, RIGHT = "shardId-000000000000", "shardId-000000000001", "shardId-000000000002"


@pytest.fixture
def kinesis(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with in_process_kinesis(monkeypatch) as client, kinesis_like_resharding():
        yield client


def test_tracker_claims_checkpoints_and_stops() -> None:
    tracker = KinesisRestrictionTracker(KinesisRestriction((ShardCursor("a"), ShardCursor("b"))))
    assert tracker.try_claim(RecordClaim("a", "17", 1000))
    assert tracker.try_claim(IdleClaim("b", 900))
    assert not tracker.try_claim(RecordClaim("zz", "1", 1))
    assert tracker.try_split(0.5) is None  # a running read is not split, only checkpointed
    with pytest.raises(ValueError, match="a, b were neither read"):
        tracker.check_done()
    split = tracker.try_split(0.0)
    assert split is not None
    primary, residual = split
    assert primary.cursors == ()
    assert [(c.shard_id, c.after_sequence, c.watermark_ms) for c in residual.cursors] == [
        ("a", "17", 1000),
        ("b", None, 900),
    ]
    assert not tracker.try_claim(RecordClaim("a", "18", 1001))
    assert tracker.check_done()

    ending = KinesisRestrictionTracker(KinesisRestriction((ShardCursor("a"),)))
    assert ending.try_claim(ShardEndClaim("a", (ShardCursor("c"),)))
    assert [c.shard_id for c in ending.current_restriction().cursors] == ["c"]
    assert ending.try_claim(StopClaim())
    assert ending.check_done() and ending.try_split(0.0) is None


class Reader:
    """One shard's restriction and watermark carried from call to call, as a runner carries them."""

    def __init__(self, shard: KinesisShard, clock: list[float]) -> None:
        self.shard = shard
        self.fn = _ReadShardsFn(
            poll_interval_s=1.0,
            batches_per_poll=3,
            records_per_batch=100,
            idle_lag_s=2.0,
            stop_at_latest=False,
            shard_refresh_s=0.0,
            clock=lambda: clock[0],
        )
        self.restriction: KinesisRestriction | None = KinesisRestriction((first_cursor(shard),))
        provider = _ShardWatermarks()
        self.watermark = provider.create_watermark_estimator(
            provider.initial_estimator_state(shard, self.restriction)
        )

    def poll(self) -> list[str]:
        assert self.restriction is not None, "the restriction has ended"
        threadsafe = ThreadsafeRestrictionTracker(KinesisRestrictionTracker(self.restriction))
        out = [
            v.value[1]
            for v in self.fn.process(self.shard, RestrictionTrackerView(threadsafe), self.watermark)
        ]
        deferred = threadsafe.deferred_status()
        if deferred is None:
            assert threadsafe.check_done()
            self.restriction = None
        else:
            self.restriction, delay = deferred
            assert 0 < delay.micros <= 1_000_000  # resumed after the poll interval
        return out


def test_reads_without_repeats_and_ends_with_its_closed_shard(kinesis: Any) -> None:
    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    stream = KinesisStream(STREAM, REGION)
    clock = [1_800_000_000.0]
    reader = Reader(KinesisShard(stream, PARENT, not_before_ms=1_000), clock)
    assert reader.watermark.current_watermark() == Timestamp(micros=1_000_000)  # held at the lower bound

    put(kinesis, ["one", "two"])
    assert reader.poll() == ["one", "two"]
    arrival = max(stored(kinesis).values())
    # Caught up: the watermark moves to the (fake) wall clock minus the idle lag, never below the data.
    assert reader.watermark.current_watermark() == Timestamp(micros=(int(clock[0] * 1000) - 2000) * 1000)
    assert reader.watermark.current_watermark() >= Timestamp(micros=arrival * 1000)
    put(kinesis, ["three"])
    assert reader.poll() == ["three"]
    assert reader.poll() == []

    # A split closes the shard: its reader reads it to the end and ends; the children are not its own
    # (discovery emits each as an element for a reader of its own).
    kinesis.split_shard(StreamName=STREAM, ShardToSplit=PARENT, NewStartingHashKey=str(2**127))
    put(kinesis, ["four", "five", "six"])
    assert reader.poll() == []
    assert reader.restriction is None
    children = [Reader(KinesisShard(stream, child), clock) for child in (LEFT, RIGHT)]
    assert children[0].watermark.current_watermark() == MIN_TIMESTAMP  # no lower bound known: the earliest
    read = [children[0].poll(), children[1].poll()]
    assert all(read) and sorted(read[0] + read[1]) == ["five", "four", "six"]  # both children held some


def test_after_discoverys_one_listing_the_reader_follows_the_children(kinesis: Any) -> None:
    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    put(kinesis, ["one"])
    stream = KinesisStream(STREAM, REGION)
    shard = KinesisShard(stream, PARENT, listed=frozenset({PARENT}))
    fn = _ReadShardsFn(
        poll_interval_s=0.05, batches_per_poll=3, records_per_batch=100, idle_lag_s=2.0, stop_at_latest=True
    )
    assert drive_reader(fn, shard) == ["one"]  # caught up: ends

    kinesis.split_shard(StreamName=STREAM, ShardToSplit=PARENT, NewStartingHashKey=str(2**127))
    put(kinesis, ["four", "five", "six"])
    assert sorted(drive_reader(fn, shard)) == ["five", "four", "one", "six"]  # the children created later
    listed_children = KinesisShard(stream, PARENT, listed=frozenset({PARENT, LEFT, RIGHT}))
    assert drive_reader(fn, listed_children) == ["one"]  # children in the listing are discovery's
