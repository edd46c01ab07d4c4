"""Kinesis read limits: at most 5 GetRecords per second per shard, backoff after a throttle.

moto does not throttle, so a wrapper around its client does what Kinesis does: a sixth call to one
shard within a second fails with ProvisionedThroughputExceededException. The paced reader is never
throttled by it; the positive control (the same reader with pacing lifted) is, and still reads every
record once thanks to the backoff.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
from apache_beam.runners.sdf_utils import RestrictionTrackerView, ThreadsafeRestrictionTracker
from botocore.exceptions import ClientError
from moto import mock_aws

from anonflow.dataflow.sources.kinesis import (
    KinesisRestrictionTracker,
    KinesisStream,
    ShardPacer,
    _ReadShardsFn,
    _ShardRestrictions,
)

REGION = "eu-central-1"
STREAM = "anonflow-entries"


class ThrottlingKinesis:
    """moto's client with Kinesis's per-shard limit: `per_s` calls per API, shard and sliding second."""

    def __init__(self, client: Any, per_s: int = 5) -> None:
        self._client = client
        self._per_s = per_s
        self._shard_of: dict[str, str] = {}
        self._calls: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self.throttles = 0
        self.get_records_calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def _admit(self, shard: str, api: str) -> None:
        now = time.monotonic()
        calls = self._calls[(shard, api)]
        while calls and calls[0] <= now - 1.0:
            calls.popleft()
        if len(calls) >= self._per_s:
            self.throttles += 1
            error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"}}
            raise ClientError(error, api)  # type: ignore[arg-type]
        calls.append(now)

    def get_shard_iterator(self, **kwargs: Any) -> Any:
        self._admit(kwargs["ShardId"], "GetShardIterator")
        response = self._client.get_shard_iterator(**kwargs)
        self._shard_of[response["ShardIterator"]] = kwargs["ShardId"]
        return response

    def get_records(self, **kwargs: Any) -> Any:
        shard = self._shard_of[kwargs["ShardIterator"]]
        self._admit(shard, "GetRecords")
        self.get_records_calls += 1
        response = self._client.get_records(**kwargs)
        if response.get("NextShardIterator"):
            self._shard_of[response["NextShardIterator"]] = shard
        return response


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


def _read_until_caught_up(fn: _ReadShardsFn, stream: KinesisStream) -> list[str]:
    """Drive the splittable DoFn as a runner would, until it stops at the stream's end."""
    restriction = _ShardRestrictions(time.time).initial_restriction(stream)
    estimator = ManualWatermarkEstimator(None)
    out: list[str] = []
    deadline = time.monotonic() + 60  # backoffs of up to a second each; the machine may be slow
    while time.monotonic() < deadline:
        threadsafe = ThreadsafeRestrictionTracker(KinesisRestrictionTracker(restriction))
        out += [v.value[1] for v in fn.process(stream, RestrictionTrackerView(threadsafe), estimator)]
        deferred = threadsafe.deferred_status()
        if deferred is None:
            return out
        restriction, _ = deferred
        time.sleep(0.01)
    raise AssertionError("the reader never caught up")


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
    assert sorted(_read_until_caught_up(fn, stream)) == payloads  # every record once, throttled or not
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
