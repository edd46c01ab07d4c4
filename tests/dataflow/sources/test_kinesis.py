"""The Kinesis source against moto's Kinesis (in-process `mock_aws`): records in, timestamped payloads out.

moto stands in for the AWS endpoint. It differs from Kinesis in ways the source must survive: a closed
shard never returns a null NextShardIterator (the source also detects the end from the listing), and
moto 5 keeps routing puts to the first shard covering the hash key, the closed parent included, so after
a split or merge its children stay empty. The resharding tests therefore show that reading passes
through closed parents into their children without losing or repeating records; which shard holds a
record after a reshard is moto's choice. Child adoption itself is checked on listings directly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
import boto3
import pytest
from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
from apache_beam.runners.sdf_utils import RestrictionTrackerView, ThreadsafeRestrictionTracker
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.utils.timestamp import Timestamp
from moto import mock_aws

from anonflow.dataflow.sources.kinesis import (
    IdleClaim,
    KinesisRestriction,
    KinesisRestrictionTracker,
    KinesisStream,
    ReadPayloadsFromKinesis,
    RecordClaim,
    ShardCursor,
    ShardEndClaim,
    StopClaim,
    _ReadShardsFn,
    _ShardRestrictions,
    children_to_adopt,
    initial_cursors,
)

REGION = "eu-central-1"
STREAM = "anonflow-entries"


@pytest.fixture
def kinesis(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # Dummy credentials for the in-process fake; nothing leaves the process.
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield boto3.client("kinesis", region_name=REGION)


def _put(client: Any, payloads: list[str]) -> None:
    for i, text in enumerate(payloads):
        client.put_record(StreamName=STREAM, Data=text.encode(), PartitionKey=f"camera-{i % 7}")


def _stored(client: Any) -> dict[str, int]:
    """payload -> arrival ms, as the stream reports it (read directly, bypassing the source)."""
    out: dict[str, int] = {}
    for shard in client.list_shards(StreamName=STREAM)["Shards"]:
        it = client.get_shard_iterator(
            StreamName=STREAM, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )
        for record in client.get_records(ShardIterator=it["ShardIterator"])["Records"]:
            out[record["Data"].decode()] = int(record["ApproximateArrivalTimestamp"].timestamp() * 1000)
    return out


class _Stamp(beam.DoFn):
    def process(
        self, element: tuple[str, str], ts: Any = beam.DoFn.TimestampParam
    ) -> Iterator[tuple[str, str, int]]:
        source, payload = element
        yield (source.split("/")[0], payload, ts.micros // 1000)


def _read_all(stream: KinesisStream) -> beam.PTransform:
    return ReadPayloadsFromKinesis(stream, poll_interval_s=0.05, stop_at_latest=True)


def test_records_come_out_with_arrival_timestamps(kinesis: Any) -> None:
    kinesis.create_stream(StreamName=STREAM, ShardCount=3)
    payloads = [json.dumps({"entries": [], "n": i}) for i in range(20)]
    _put(kinesis, payloads)
    stored = _stored(kinesis)
    assert set(stored) == set(payloads)
    with BeamPipeline() as p:
        out = p | _read_all(KinesisStream(STREAM, REGION)) | beam.ParDo(_Stamp())
        assert_that(out, equal_to([(f"kinesis:{STREAM}", text, ms) for text, ms in stored.items()]))


def test_resharding_reads_every_record_once(kinesis: Any) -> None:
    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    _put(kinesis, [f"before-split-{i}" for i in range(6)])
    kinesis.split_shard(
        StreamName=STREAM, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127)
    )
    _put(kinesis, [f"after-split-{i}" for i in range(6)])
    kinesis.merge_shards(
        StreamName=STREAM, ShardToMerge="shardId-000000000001", AdjacentShardToMerge="shardId-000000000002"
    )
    _put(kinesis, [f"after-merge-{i}" for i in range(6)])
    shards = kinesis.list_shards(StreamName=STREAM)["Shards"]
    assert len(shards) == 4  # parent, two children, their merge
    with BeamPipeline() as p:
        out = p | _read_all(KinesisStream(STREAM, REGION)) | beam.MapTuple(lambda _, payload: payload)
        expected = [
            f"{stage}-{i}" for stage in ("before-split", "after-split", "after-merge") for i in range(6)
        ]
        assert_that(out, equal_to(expected))


def test_initial_cursors_start_at_roots_and_pin_latest() -> None:
    shards = [
        {
            "ShardId": "s0",
            "SequenceNumberRange": {"StartingSequenceNumber": "1", "EndingSequenceNumber": "9"},
        },
        {"ShardId": "s1", "ParentShardId": "s0", "SequenceNumberRange": {"StartingSequenceNumber": "10"}},
        {"ShardId": "s2", "ParentShardId": "s0", "SequenceNumberRange": {"StartingSequenceNumber": "11"}},
        {"ShardId": "s3", "ParentShardId": "gone", "SequenceNumberRange": {"StartingSequenceNumber": "1"}},
    ]
    trim = initial_cursors(shards, KinesisStream(STREAM, REGION), now_ms=5)
    assert [(c.shard_id, c.start, c.ending_sequence) for c in trim] == [
        ("s0", "TRIM_HORIZON", "9"),
        ("s3", "TRIM_HORIZON", None),
    ]
    latest = initial_cursors(shards, KinesisStream(STREAM, REGION, start="LATEST"), now_ms=1234)
    assert {(c.start, c.start_timestamp_ms) for c in latest} == {("AT_TIMESTAMP", 1234)}
    assert [c.shard_id for c in children_to_adopt(shards, "s0")] == ["s1", "s2"]
    merged = [{"ShardId": "m", "ParentShardId": "s2", "AdjacentParentShardId": "s1"}]
    assert [c.shard_id for c in children_to_adopt(merged, "s1")] == ["m"]
    assert children_to_adopt(merged, "s2") == ()


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


def test_unbounded_read_checkpoints_and_resumes_without_repeats(kinesis: Any) -> None:
    """Drive the splittable DoFn as a runner would: read, checkpoint, resume from the residual."""
    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    stream = KinesisStream(STREAM, REGION)
    clock = [1_800_000_000.0]
    fn = _ReadShardsFn(
        poll_interval_s=1.0,
        batches_per_poll=3,
        records_per_batch=100,
        idle_lag_s=2.0,
        stop_at_latest=False,
        shard_refresh_s=0.0,
        clock=lambda: clock[0],
    )
    restriction = _ShardRestrictions(lambda: clock[0]).initial_restriction(stream)
    estimator = ManualWatermarkEstimator(None)

    def poll(restriction: KinesisRestriction) -> tuple[list[str], KinesisRestriction]:
        threadsafe = ThreadsafeRestrictionTracker(KinesisRestrictionTracker(restriction))
        out = [v.value[1] for v in fn.process(stream, RestrictionTrackerView(threadsafe), estimator)]
        deferred = threadsafe.deferred_status()
        assert deferred is not None, "an unbounded read must checkpoint"
        residual, delay = deferred
        assert 0 < delay.micros <= 1_000_000  # resumed after the poll interval
        return out, residual

    _put(kinesis, ["one", "two"])
    first, restriction = poll(restriction)
    assert first == ["one", "two"]
    arrival = max(_stored(kinesis).values())
    # Caught up: the watermark moves to the (fake) wall clock minus the idle lag, never below the data.
    assert estimator.current_watermark() == Timestamp(micros=(int(clock[0] * 1000) - 2000) * 1000)
    assert estimator.current_watermark() >= Timestamp(micros=arrival * 1000)

    _put(kinesis, ["three"])
    second, restriction = poll(restriction)
    assert second == ["three"]
    third, restriction = poll(restriction)
    assert third == []
    assert [c.after_sequence is not None for c in restriction.cursors] == [True]

    # A split closes the shard. The reader sees the close on an idle poll (re-listing), reads the shard
    # to its end and adopts both children, reading every record exactly once.
    kinesis.split_shard(
        StreamName=STREAM, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127)
    )
    _put(kinesis, ["four", "five", "six"])
    after_split: list[str] = []
    for _ in range(3):
        out, restriction = poll(restriction)
        after_split += out
    assert sorted(after_split) == ["five", "four", "six"]
    assert sorted(c.shard_id for c in restriction.cursors) == ["shardId-000000000001", "shardId-000000000002"]


def test_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="poll_interval_s > 0"):
        ReadPayloadsFromKinesis(KinesisStream(STREAM, REGION), poll_interval_s=0)
    with pytest.raises(ValueError, match="needs start_timestamp_ms"):
        KinesisStream(STREAM, REGION, start="AT_TIMESTAMP")
