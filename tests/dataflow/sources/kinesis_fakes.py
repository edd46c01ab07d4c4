"""Kinesis as the source tests need it: moto in-process, made to behave like Kinesis where it does not.

- `in_process_kinesis`: moto's `mock_aws` with dummy credentials; nothing leaves the process.
- `kinesis_like_resharding`: moto 5 differs from Kinesis when a stream reshards: puts keep going to the
  first shard covering the hash key (the closed parent included), a split re-puts the parent's records
  into the stream (with new sequence numbers), and a merge copies both parents' records into the child.
  Kinesis closes the parents with their records in place and routes new records to open shards only;
  this patch does that, so children hold records and a record lives in one shard. (moto still never
  returns a null NextShardIterator for a closed shard: the readers also learn the end from ListShards.)
- `ThrottlingKinesis`: moto does not throttle; this wrapper does what Kinesis does: a sixth call to one
  shard within a second fails with ProvisionedThroughputExceededException.
- `drive_reader`: runs the per-shard reading DoFn as a runner does, residual after residual.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict, defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

REGION = "eu-central-1"
STREAM = "anonflow-entries"


@contextmanager
def in_process_kinesis(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
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


@contextmanager
def kinesis_like_resharding() -> Iterator[None]:
    """Patch moto's in-process Kinesis so resharding keeps records where Kinesis keeps them."""
    from moto.kinesis.models import Stream

    split, merge = Stream.split_shard, Stream.merge_shards

    def split_in_place(self: Any, shard_to_split: str, new_starting_hash_key: str) -> None:
        parent = self.shards[shard_to_split]
        kept, parent.records = parent.records, OrderedDict()  # nothing for moto to re-put
        try:
            split(self, shard_to_split, new_starting_hash_key)
        finally:
            parent.records = kept

    def merge_in_place(self: Any, shard_to_merge: str, adjacent_shard_to_merge: str) -> None:
        parents = [self.shards[shard_to_merge], self.shards[adjacent_shard_to_merge]]
        kept = [p.records for p in parents]
        for parent in parents:
            parent.records = OrderedDict()  # nothing for moto to copy into the child
        try:
            merge(self, shard_to_merge, adjacent_shard_to_merge)
        finally:
            for parent, records in zip(parents, kept, strict=True):
                parent.records = records

    def open_shard_for_key(self: Any, partition_key: str, explicit_hash_key: str | None) -> Any:
        key = (
            int(explicit_hash_key)
            if explicit_hash_key
            else int(hashlib.md5(partition_key.encode(), usedforsecurity=False).hexdigest(), 16)
        )
        for shard in self.shards.values():
            if shard.is_open and shard.starting_hash <= key <= shard.ending_hash:
                return shard
        return None

    with (
        mock.patch.object(Stream, "split_shard", split_in_place),
        mock.patch.object(Stream, "merge_shards", merge_in_place),
        mock.patch.object(Stream, "get_shard_for_key", open_shard_for_key),
    ):
        yield


def put(client: Any, payloads: list[str], stream: str = STREAM) -> None:
    for i, text in enumerate(payloads):
        client.put_record(StreamName=stream, Data=text.encode(), PartitionKey=f"camera-{i % 7}")


def stored(client: Any, stream: str = STREAM) -> dict[str, int]:
    """payload -> arrival ms, as the stream reports it (read directly, bypassing the source)."""
    out: dict[str, int] = {}
    for shard in client.list_shards(StreamName=stream)["Shards"]:
        it = client.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )
        for record in client.get_records(ShardIterator=it["ShardIterator"])["Records"]:
            out[record["Data"].decode()] = int(record["ApproximateArrivalTimestamp"].timestamp() * 1000)
    return out


def shard_ids(client: Any, stream: str = STREAM) -> list[str]:
    return [s["ShardId"] for s in client.list_shards(StreamName=stream)["Shards"]]


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


def drive_reader(fn: Any, shard: Any, *, deadline_s: float = 60.0) -> list[str]:
    """Drive the reading DoFn over one shard as a runner would (read, checkpoint, resume from the
    residual) until its restriction ends; returns the payloads read."""
    from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
    from apache_beam.runners.sdf_utils import RestrictionTrackerView, ThreadsafeRestrictionTracker

    from anonflow.dataflow.sources.kinesis_reader import (
        KinesisRestriction,
        KinesisRestrictionTracker,
        first_cursor,
    )

    restriction = KinesisRestriction((first_cursor(shard),))
    estimator = ManualWatermarkEstimator(None)
    out: list[str] = []
    deadline = time.monotonic() + deadline_s  # backoffs of up to a second each; the machine may be slow
    while time.monotonic() < deadline:
        threadsafe = ThreadsafeRestrictionTracker(KinesisRestrictionTracker(restriction))
        out += [v.value[1] for v in fn.process(shard, RestrictionTrackerView(threadsafe), estimator)]
        deferred = threadsafe.deferred_status()
        if deferred is None:
            return out
        restriction, _ = deferred
        time.sleep(0.01)
    raise AssertionError("the reader never finished")
