"""Shard discovery driven as a runner drives it (process, checkpoint, resume from the residual) against
moto's Kinesis, resharding between listings: each shard emitted once, as an element of its own, with a
timestamp its records are not behind; the discovery's watermark never passes an undiscovered shard.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
from apache_beam.runners.sdf_utils import RestrictionTrackerView, ThreadsafeRestrictionTracker
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import MIN_TIMESTAMP, Timestamp

from anonflow.dataflow.sources.kinesis_discovery import (
    DiscoveryState,
    DiscoveryTracker,
    _DiscoverShardsFn,
    _DiscoveryRestrictions,
)
from anonflow.dataflow.sources.kinesis_shards import KinesisShard, KinesisStream
from tests.dataflow.sources.kinesis_fakes import (
    REGION,
    STREAM,
    in_process_kinesis,
    kinesis_like_resharding,
    put,
    shard_ids,
    stored,
)

LAG_S = 1.0


@pytest.fixture
def kinesis(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with in_process_kinesis(monkeypatch) as client, kinesis_like_resharding():
        yield client


class Discovery:
    """One discovery restriction carried from call to call, as a runner carries its residual."""

    def __init__(self, stream: KinesisStream, *, stop_at_latest: bool) -> None:
        self.stream = stream
        self.fn = _DiscoverShardsFn(interval_s=10.0, idle_lag_s=LAG_S, stop_at_latest=stop_at_latest)
        self.state: DiscoveryState | None = _DiscoveryRestrictions(time.time).initial_restriction(stream)
        self.watermark = ManualWatermarkEstimator(None)

    def poll(self) -> list[TimestampedValue]:
        assert self.state is not None, "discovery has ended"
        threadsafe = ThreadsafeRestrictionTracker(DiscoveryTracker(self.state))
        out = list(self.fn.process(self.stream, RestrictionTrackerView(threadsafe), self.watermark))
        deferred = threadsafe.deferred_status()
        self.state = None if deferred is None else deferred[0]
        if deferred is None:
            assert threadsafe.check_done()
        return out


def _ids(out: list[TimestampedValue]) -> list[str]:
    return [v.value.shard_id for v in out]


def test_new_shards_are_emitted_once_each_as_they_appear(kinesis: Any) -> None:
    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    put(kinesis, ["first"])
    discovery = Discovery(KinesisStream(STREAM, REGION), stop_at_latest=False)

    first = discovery.poll()
    assert _ids(first) == ["shardId-000000000000"]
    assert first[0].timestamp == MIN_TIMESTAMP  # read from TRIM_HORIZON: its records may be of any age
    assert first[0].value == KinesisShard(discovery.stream, "shardId-000000000000")
    assert discovery.poll() == []  # nothing new: nothing emitted, the shard is not emitted again
    before_split = discovery.watermark.current_watermark()

    kinesis.split_shard(
        StreamName=STREAM, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127)
    )
    put(kinesis, [f"after-split-{i}" for i in range(8)])
    children = discovery.poll()
    assert _ids(children) == ["shardId-000000000001", "shardId-000000000002"]  # two elements, two readers
    for child in children:
        shard: KinesisShard = child.value
        assert (shard.start, shard.listed, shard.ending_sequence) == ("TRIM_HORIZON", None, None)
        # On time: stamped with the discovery's watermark before it found them, their readers' start.
        assert child.timestamp == before_split == Timestamp(micros=(shard.not_before_ms or 0) * 1000)
    # No record of an undiscovered shard was behind the discovery's watermark.
    arrivals = [ms for text, ms in stored(kinesis).items() if text.startswith("after-split")]
    assert min(arrivals) * 1000 >= before_split.micros
    assert discovery.watermark.current_watermark() > before_split

    kinesis.merge_shards(
        StreamName=STREAM, ShardToMerge="shardId-000000000001", AdjacentShardToMerge="shardId-000000000002"
    )
    assert _ids(discovery.poll()) == ["shardId-000000000003"]  # a merge's child: once, not once per parent
    assert discovery.poll() == []
    assert discovery.state is not None and discovery.state.emitted == frozenset(shard_ids(kinesis))


def test_stop_at_latest_lists_once_and_hands_the_listing_to_the_readers(kinesis: Any) -> None:
    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    kinesis.split_shard(
        StreamName=STREAM, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127)
    )
    discovery = Discovery(KinesisStream(STREAM, REGION, start="LATEST"), stop_at_latest=True)
    pinned = discovery.state.start_ms if discovery.state else None
    out = discovery.poll()
    assert discovery.state is None  # ended: no residual
    assert _ids(out) == shard_ids(kinesis)
    everyone = frozenset(shard_ids(kinesis))
    for shard in (v.value for v in out):
        assert (shard.start, shard.start_timestamp_ms, shard.listed) == ("AT_TIMESTAMP", pinned, everyone)
    assert out[0].value.ending_sequence is not None  # the parent was closed when listed


def test_tracker_checkpoints_and_ends() -> None:
    tracker = DiscoveryTracker(DiscoveryState())
    assert tracker.try_split(0.5) is None  # never split, only checkpointed
    with pytest.raises(ValueError, match="neither finished nor checkpointed"):
        tracker.check_done()
    assert tracker.try_claim(DiscoveryState(emitted=frozenset({"a"}), listed_at_ms=5))
    split = tracker.try_split(0.0)
    assert split is not None and split[0].done and split[1].emitted == frozenset({"a"})
    assert not tracker.try_claim(DiscoveryState())  # after a checkpoint, nothing more is claimed here
    assert tracker.check_done()
    ended = DiscoveryTracker(DiscoveryState(done=True))
    assert ended.try_split(0.0) is None and ended.check_done()
