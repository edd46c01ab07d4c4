"""Kinesis read limits: at most 5 GetRecords per second per shard, backoff after a throttle.

moto does not throttle, so `ThrottlingKinesis` (kinesis_fakes) does what Kinesis does. The paced reader
is never throttled by it; the positive control (the same reader with pacing lifted) is, and still reads
every record once thanks to the backoff.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from anonflow.dataflow.sources.kinesis_pacing import ShardPacer
from anonflow.dataflow.sources.kinesis_reader import _ReadShardsFn
from anonflow.dataflow.sources.kinesis_shards import KinesisShard, KinesisStream
from tests.dataflow.sources.kinesis_fakes import (
    REGION,
    STREAM,
    ThrottlingKinesis,
    drive_reader,
    in_process_kinesis,
    shard_ids,
)


@pytest.fixture
def kinesis(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with in_process_kinesis(monkeypatch) as client:
        yield client


# (case, pacer calls per second, throttled?)
CASES = [("paced at 5 per second", 5.0, False), ("control: unpaced", 1000.0, True)]


@pytest.mark.parametrize(("case", "calls_per_s", "throttled"), CASES, ids=[c[0] for c in CASES])
def test_catching_up_stays_within_the_shard_limit(
    kinesis: Any, case: str, calls_per_s: float, throttled: bool
) -> None:
    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    payloads = [f"record-{i:03d}" for i in range(40)]
    for text in payloads:
        kinesis.put_record(StreamName=STREAM, Data=text.encode(), PartitionKey="camera")
    stream = KinesisStream(STREAM, REGION)
    throttling = ThrottlingKinesis(kinesis)
    fn = _ReadShardsFn(
        poll_interval_s=0.05,
        batches_per_poll=20,
        records_per_batch=4,  # ten GetRecords calls to catch up: twice the limit of one second
        idle_lag_s=0.0,
        stop_at_latest=True,
        pacer=ShardPacer(calls_per_s=calls_per_s, backoff_s=0.2, max_backoff_s=1.0),
    )
    fn._client, fn._client_for = throttling, stream
    shard = KinesisShard(stream, shard_ids(kinesis)[0], listed=frozenset(shard_ids(kinesis)))
    assert sorted(drive_reader(fn, shard)) == payloads  # every record once, throttled or not
    assert (throttling.throttles > 0) is throttled
    assert throttling.get_records_calls >= 10


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


def test_pacer_spaces_calls_and_backs_off_exponentially() -> None:
    fake = FakeTime()
    pacer = ShardPacer(calls_per_s=5, backoff_s=1.0, max_backoff_s=4.0, clock=fake.clock, sleep=fake.sleep)
    for _ in range(3):
        pacer.call("a")
    pacer.call("b")  # another shard has its own budget
    assert fake.slept == [0.2, 0.2]
    assert [pacer.throttled("a") for _ in range(4)] == [1.0, 2.0, 4.0, 4.0]
    assert pacer.ready_in("a") == 4.0 and pacer.ready_in("b") == pytest.approx(0.2)
    pacer.succeeded("a")
    assert pacer.throttled("a") == 1.0  # a success resets the backoff


def test_pacer_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="calls_per_s > 0"):
        ShardPacer(calls_per_s=0)
