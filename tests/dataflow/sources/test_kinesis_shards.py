"""Shard families from listings: parents before children; which children a finished reader goes on with."""

from __future__ import annotations

from typing import Any

import pytest

from anonflow.dataflow.sources.kinesis_shards import children_to_follow, in_family_order


def _shard(shard_id: str, *parents: str) -> dict[str, Any]:
    shard: dict[str, Any] = {"ShardId": shard_id, "SequenceNumberRange": {"StartingSequenceNumber": "1"}}
    if parents:
        shard["ParentShardId"] = parents[0]
    if len(parents) > 1:
        shard["AdjacentParentShardId"] = parents[1]
    return shard


SPLIT_THEN_MERGE = [_shard("s3", "s1", "s2"), _shard("s1", "s0"), _shard("s0"), _shard("s2", "s0")]

# (case, listing, expected order)
ORDERS = [
    ("already in order", [_shard("a"), _shard("b", "a")], ["a", "b"]),
    ("children listed first", SPLIT_THEN_MERGE, ["s0", "s1", "s2", "s3"]),
    ("parent expired: the child is a root", [_shard("c", "gone"), _shard("d")], ["c", "d"]),
]


@pytest.mark.parametrize(("case", "listing", "expected"), ORDERS, ids=[c[0] for c in ORDERS])
def test_parents_come_before_their_children(
    case: str, listing: list[dict[str, Any]], expected: list[str]
) -> None:
    assert [s["ShardId"] for s in in_family_order(listing)] == expected


# (case, finished shard, shards discovery listed, expected children to follow)
FOLLOWS = [
    ("split after the listing", "s0", frozenset({"s0"}), ["s1", "s2"]),
    ("split before the listing: discovery emitted them", "s0", frozenset({"s0", "s1", "s2", "s3"}), []),
    ("merge: the lower parent's reader", "s1", frozenset({"s0"}), ["s3"]),
    ("merge: not the upper parent's", "s2", frozenset({"s0"}), []),
    ("no children", "s3", frozenset({"s0"}), []),
]


@pytest.mark.parametrize(("case", "finished", "listed", "expected"), FOLLOWS, ids=[c[0] for c in FOLLOWS])
def test_children_a_finished_reader_follows(
    case: str, finished: str, listed: frozenset[str], expected: list[str]
) -> None:
    assert [s["ShardId"] for s in children_to_follow(SPLIT_THEN_MERGE, finished, listed)] == expected
