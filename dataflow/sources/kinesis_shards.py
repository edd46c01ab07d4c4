"""Kinesis streams and their shards as ListShards reports them: which shards there are, in which order.

A shard's family: a split closes one parent and opens two children (`ParentShardId`); a merge closes two
adjacent parents and opens one child (`ParentShardId` and `AdjacentParentShardId`). A listing holds every
shard still within the stream's retention; a closed one carries an `EndingSequenceNumber`. A shard that
has left the listing (retention passed) never comes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

StartPosition = Literal["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"]
ShardStart = Literal["TRIM_HORIZON", "AT_TIMESTAMP"]


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
class KinesisShard:
    """One shard to read: discovery emits one of these per shard, so each shard is its own element and
    restriction, and a runner spreads them over its workers.

    start / start_timestamp_ms: where reading begins. Shards listed when the job starts take the job's
    start position (LATEST pinned to the start time); shards that appear later are read from
    TRIM_HORIZON, as every record in them is newer than the start.
    ending_sequence: the shard's EndingSequenceNumber if it was already closed when listed.
    not_before_ms: a lower bound of the arrival times of the shard's records (epoch ms): the reader's
    watermark starts there. None: unknown (a shard listed at start, read from TRIM_HORIZON).
    listed: with stop_at_latest only, the shard ids discovery listed (once, at start) and emitted;
    a child outside it was created after that listing and is followed by the reader of its parent (of
    its lower parent, for a merge). None: discovery keeps listing and emits every new shard itself.
    """

    stream: KinesisStream
    shard_id: str
    start: ShardStart = "TRIM_HORIZON"
    start_timestamp_ms: int | None = None
    ending_sequence: str | None = None
    not_before_ms: int | None = None
    listed: frozenset[str] | None = None


def list_shards(client: Any, stream_name: str) -> list[dict[str, Any]]:
    """Every shard of the stream (all pages of ListShards)."""
    shards: list[dict[str, Any]] = []
    response = client.list_shards(StreamName=stream_name)
    shards.extend(response["Shards"])
    while response.get("NextToken"):
        response = client.list_shards(NextToken=response["NextToken"])
        shards.extend(response["Shards"])
    return shards


def ending(shard: dict[str, Any]) -> str | None:
    """The EndingSequenceNumber of a closed shard; None while it is open."""
    value: str | None = shard.get("SequenceNumberRange", {}).get("EndingSequenceNumber")
    return value


def parents(shard: dict[str, Any]) -> tuple[str, ...]:
    """The shard's parent ids: none for an original shard, one after a split, two after a merge."""
    return tuple(p for p in (shard.get("ParentShardId"), shard.get("AdjacentParentShardId")) if p)


def in_family_order(shards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The listing with every listed parent before its children (otherwise in listing order)."""
    listed = {s["ShardId"] for s in shards}
    placed: set[str] = set()
    ordered: list[dict[str, Any]] = []
    pending = list(shards)
    while pending:
        ready = [s for s in pending if all(p in placed or p not in listed for p in parents(s))]
        if not ready:  # a cycle cannot come from Kinesis; keep the listing's order rather than loop
            ready = pending
        ordered += ready
        placed |= {s["ShardId"] for s in ready}
        pending = [s for s in pending if s["ShardId"] not in placed]
    return ordered


def children_to_follow(
    shards: list[dict[str, Any]], parent_id: str, listed: frozenset[str]
) -> list[dict[str, Any]]:
    """Children of a finished shard that appeared after discovery's one listing (stop_at_latest), for
    the parent's reader to read next. A merge's child goes to the reader of its lower parent only, so
    it is read once; children inside `listed` are discovery's (already emitted on their own)."""
    return [
        s
        for s in shards
        if s["ShardId"] not in listed and parent_id in parents(s) and parent_id == min(parents(s))
    ]
