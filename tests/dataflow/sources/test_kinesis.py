"""ReadPayloadsFromKinesis on the DirectRunner against moto's Kinesis: records in, timestamped payloads
out, each shard its own element, every record read once across splits and merges made during the read.

moto's resharding is patched to keep records where Kinesis keeps them (`kinesis_like_resharding`). The
DirectRunner's FnApiRunner starts the reading step only once discovery has finished, so these jobs run
with stop_at_latest; discovery finding shards while it runs is driven step by step in
test_kinesis_discovery.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import apache_beam as beam
import boto3
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline
from apache_beam.testing.util import assert_that, equal_to

from anonflow.dataflow.sources import kinesis_reader
from anonflow.dataflow.sources.kinesis import KinesisShard, KinesisStream, ReadPayloadsFromKinesis
from anonflow.dataflow.sources.kinesis_discovery import DiscoverKinesisShards
from anonflow.dataflow.sources.kinesis_shards import list_shards, parents
from tests.dataflow.sources.kinesis_fakes import (
    REGION,
    STREAM,
    in_process_kinesis,
    kinesis_like_resharding,
    put,
    shard_ids,
    stored,
)

SPLIT_AT = str(2**127)


@pytest.fixture
def kinesis(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with in_process_kinesis(monkeypatch) as client, kinesis_like_resharding():
        yield client


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
    put(kinesis, payloads)
    arrivals = stored(kinesis)
    assert set(arrivals) == set(payloads)
    with BeamPipeline() as p:
        out = p | _read_all(KinesisStream(STREAM, REGION)) | beam.ParDo(_Stamp())
        assert_that(out, equal_to([(f"kinesis:{STREAM}", text, ms) for text, ms in arrivals.items()]))


def _reshard_before_the_job(client: Any) -> list[str]:
    """Split shard 0, then merge its two children; records in every stage. Returns the payloads."""
    client.create_stream(StreamName=STREAM, ShardCount=1)
    stages = {
        stage: [f"{stage}-{i}" for i in range(6)] for stage in ("before-split", "after-split", "after-merge")
    }
    put(client, stages["before-split"])
    client.split_shard(StreamName=STREAM, ShardToSplit="shardId-000000000000", NewStartingHashKey=SPLIT_AT)
    put(client, stages["after-split"])
    client.merge_shards(
        StreamName=STREAM, ShardToMerge="shardId-000000000001", AdjacentShardToMerge="shardId-000000000002"
    )
    put(client, stages["after-merge"])
    return [text for texts in stages.values() for text in texts]


class _AdoptingDiscovery(beam.DoFn):
    """The naive design this source replaced: one element per shard without a listed parent; children
    are adopted later by the restriction that read their parent, so a split adds no parallelism."""

    def process(self, stream: KinesisStream) -> Iterator[KinesisShard]:
        shards = list_shards(stream.client(), stream.stream_name)
        listed = {s["ShardId"] for s in shards}
        for s in shards:
            if not set(parents(s)) & listed:
                yield KinesisShard(stream, s["ShardId"])


def _children_are_elements(emitted: list[list[str]], children: list[str]) -> None:
    """Each shard read is one element of its own (so a restriction of its own): the split's two children
    in particular, which a runner can then read on two workers."""
    assert all(len(ids) == 1 for ids in emitted), emitted
    assert set(children) <= {ids[0] for ids in emitted}, f"children {children} are not elements: {emitted}"


def _check_discovery(discovery: beam.PTransform, check: Callable[[list[list[str]]], None]) -> None:
    """Run the discovery step alone; `check` sees one list of shard ids per element it emitted."""
    with BeamPipeline() as p:
        shards = p | beam.Create([KinesisStream(STREAM, REGION)]) | discovery
        assert_that(shards | beam.Map(lambda shard: [shard.shard_id]), check)


# (case, discovery step, are the children elements of their own?)
DISCOVERIES = [
    ("discovery", DiscoverKinesisShards(stop_at_latest=True), True),
    ("control: adopt into the parent's restriction", beam.ParDo(_AdoptingDiscovery()), False),
]


@pytest.mark.parametrize(("case", "discovery", "separate"), DISCOVERIES, ids=[c[0] for c in DISCOVERIES])
def test_after_a_split_each_child_is_an_element_of_its_own(
    kinesis: Any, case: str, discovery: beam.PTransform, separate: bool
) -> None:
    _reshard_before_the_job(kinesis)
    children = ["shardId-000000000001", "shardId-000000000002"]
    everyone = shard_ids(kinesis)

    def check(emitted: list[list[str]]) -> None:
        _children_are_elements(emitted, children)
        assert sorted(ids[0] for ids in emitted) == everyone  # every shard once, the merge's too

    if separate:
        _check_discovery(discovery, check)
    else:
        with pytest.raises(Exception, match="are not elements"):  # the pipeline re-raises the check's failure
            _check_discovery(discovery, check)


def test_a_resharded_stream_is_read_once(kinesis: Any) -> None:
    payloads = _reshard_before_the_job(kinesis)
    assert len(shard_ids(kinesis)) == 4  # parent, two children, their merge
    with BeamPipeline() as p:
        out = p | _read_all(KinesisStream(STREAM, REGION)) | beam.MapTuple(lambda _, payload: payload)
        assert_that(out, equal_to(payloads))


STAGE = 8  # records put per stage


class _ReshardOnCue(beam.DoFn):
    """Reshards the stream while the job reads it, cued by the records going by (in-process moto):
    the last record before the split splits shard 0 and puts the next stage into its children; the
    first record read from a child merges the children (the other may be half read) and puts the last
    stage into the merged shard."""

    def setup(self) -> None:
        self._client = boto3.client("kinesis", region_name=REGION)

    def process(self, element: tuple[str, str]) -> Iterator[str]:
        source, payload = element
        if payload == f"before-split-{STAGE - 1}":
            self._client.split_shard(
                StreamName=STREAM, ShardToSplit="shardId-000000000000", NewStartingHashKey=SPLIT_AT
            )
            put(self._client, [f"after-split-{i}" for i in range(STAGE)])
        elif payload.startswith("after-split-") and len(self._open()) == 2:
            self._client.merge_shards(
                StreamName=STREAM,
                ShardToMerge="shardId-000000000001",
                AdjacentShardToMerge="shardId-000000000002",
            )
            put(self._client, [f"after-merge-{i}" for i in range(STAGE)])
        yield f"{source.split('/')[1]} {payload}"

    def _open(self) -> list[str]:
        shards = self._client.list_shards(StreamName=STREAM)["Shards"]
        return [s["ShardId"] for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"]]


def _run_resharding_job(client: Any, *, streaming: bool) -> Any:
    """The job reads a one-shard stream that it splits, then merges, while reading (`_ReshardOnCue`)."""
    client.create_stream(StreamName=STREAM, ShardCount=1)
    put(client, [f"before-split-{i}" for i in range(STAGE)])
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = streaming
    p = BeamPipeline(options=options)
    out = p | _read_all(KinesisStream(STREAM, REGION)) | beam.ParDo(_ReshardOnCue())
    assert_that(out, _read_once_in_family_order)
    result = p.run()
    result.wait_until_finish()
    return result


@pytest.mark.parametrize("streaming", [False, True], ids=["batch", "streaming"])
def test_split_and_merge_during_the_read_read_every_record_once(kinesis: Any, streaming: bool) -> None:
    result = _run_resharding_job(kinesis, streaming=streaming)
    assert len(shard_ids(kinesis)) == 4  # the job did split and merge while reading
    counters = {c.key.metric.name: c.committed for c in result.metrics().query()["counters"]}
    # One listing (stop_at_latest): shard 0 discovered; the parent and both children read to their end.
    assert {name: counters.get(name) for name in COUNTERS} == {
        "kinesis_shards_discovered": 1,
        "kinesis_shards_finished": 3,
        "kinesis_records": 3 * STAGE,
    }


def test_control_readers_that_drop_children_created_during_the_read_are_caught(
    kinesis: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Positive control: the same job and check, with readers that never go on with a child created
    after discovery's listing, fail (records put into the children and the merge are missing)."""
    monkeypatch.setattr(kinesis_reader, "children_to_follow", lambda shards, parent_id, listed: [])
    with pytest.raises(Exception, match="after-"):  # the check's AssertionError, re-raised by the runner
        _run_resharding_job(kinesis, streaming=False)


COUNTERS = ("kinesis_shards_discovered", "kinesis_shards_finished", "kinesis_records")


def _read_once_in_family_order(lines: list[str]) -> None:
    """Every record once, each from the shard Kinesis put it in: both children held records."""
    by_shard: dict[str, list[str]] = {}
    for line in lines:
        shard, payload = line.split(" ")
        by_shard.setdefault(shard.removeprefix("shardId-00000000000"), []).append(payload)
    stages = ("before-split", "after-split", "after-merge")
    assert sorted(p for ps in by_shard.values() for p in ps) == sorted(
        f"{s}-{i}" for s in stages for i in range(STAGE)
    )
    assert sorted(by_shard["0"]) == sorted(f"before-split-{i}" for i in range(STAGE))
    assert by_shard["1"] and by_shard["2"]
    assert sorted(by_shard["3"]) == sorted(f"after-merge-{i}" for i in range(STAGE))


# (setting, value, error)
BAD_SETTINGS = [
    ("poll_interval_s", 0, "poll_interval_s > 0"),
    ("calls_per_s", 6, "0 < calls_per_s <= 5"),
    ("records_per_batch", 10_001, "1 <= records_per_batch <= 10000"),
    ("discovery_interval_s", 0, "0 < discovery_interval_s <= 3600"),
    ("discovery_interval_s", 3601, "0 < discovery_interval_s <= 3600"),
]


@pytest.mark.parametrize(
    ("setting", "value", "error"), BAD_SETTINGS, ids=[f"{c[0]}={c[1]}" for c in BAD_SETTINGS]
)
def test_rejects_bad_settings(setting: str, value: float, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        ReadPayloadsFromKinesis(KinesisStream(STREAM, REGION), **{setting: value})


def test_at_timestamp_needs_its_timestamp() -> None:
    with pytest.raises(ValueError, match="needs start_timestamp_ms"):
        KinesisStream(STREAM, REGION, start="AT_TIMESTAMP")
