"""The Beam job. `run()` only parses options and wires named transforms, top to bottom:

read payloads (files | Kinesis | Pub/Sub)
  -> parse and validate: contract, topic's store, event-time window (dead-letter: operators' location)
  -> window by store-local day (event time, allowed lateness, accumulating panes)
  -> summarise tracks (combined before the shuffle; a repeated entry id counted once per track)
  -> per store-day: an entry id held by several tracks counted once, tracks re-connected into journeys
  -> footfall | dwell | demographics | flows | heatmap  (5 min, hour, day windows in local time)
  -> k-anonymous or differentially private release
  -> Parquet per store and local date (+ DuckDB views locally)
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Final

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, SetupOptions, StandardOptions

from anonflow.contract.errors import AnonflowError, InputError
from anonflow.contract.metrics import DEAD_LETTERS, ENTRIES_READ
from anonflow.contract.tables import ALL_TABLES, DEMOGRAPHICS, DWELL, FLOWS, FOOTFALL, HEATMAP, Table
from anonflow.dataflow.aggregate.base import AggregateTable
from anonflow.dataflow.aggregate.demographics import Demographics
from anonflow.dataflow.aggregate.dwell import Dwell
from anonflow.dataflow.aggregate.flows import Flows
from anonflow.dataflow.aggregate.footfall import Footfall
from anonflow.dataflow.aggregate.heatmap import Heatmap
from anonflow.dataflow.deadletter import DEAD_LETTER_TAG
from anonflow.dataflow.ledger import ReleaseLedger
from anonflow.dataflow.options import JobConfig
from anonflow.dataflow.preflight import preflight
from anonflow.dataflow.privacy import PrivacyConfig, ProtectCells, check_sidecar, write_sidecar
from anonflow.dataflow.reconnect.transforms import Reconnect
from anonflow.dataflow.sinks.cloudwatch import PublishCount
from anonflow.dataflow.sinks.duckdb_views import write_operator_views, write_views
from anonflow.dataflow.sinks.parquet import WriteDeadLetters, WriteTable
from anonflow.dataflow.stores import DEFAULT_TIME_ZONE
from anonflow.dataflow.timewindow import EventTimeWindow
from anonflow.dataflow.transforms.counts import CountStoreDays
from anonflow.dataflow.transforms.late import DeadLetterTooLate
from anonflow.dataflow.transforms.parse import ParseEntries
from anonflow.dataflow.transforms.read import ReadEntryFiles, ReadLimits
from anonflow.dataflow.transforms.storedays import WindowStoreDays
from anonflow.dataflow.transforms.tracks import SummariseTracks

log = logging.getLogger(__name__)

AGGREGATES: Final[tuple[tuple[Table, Callable[[], AggregateTable]], ...]] = (
    (FOOTFALL, Footfall),
    (DWELL, Dwell),
    (DEMOGRAPHICS, Demographics),
    (FLOWS, Flows),
    (HEATMAP, Heatmap),
)


@dataclass(frozen=True, slots=True)
class JobResult:
    """What a finished run reports: input files read (0 for streams), Beam counters, where tables went."""

    files: int
    counters: dict[str, int]
    output: str


def _is_local(path: str) -> bool:
    return "://" not in path


def _prepare_output(output: str, privacy: PrivacyConfig) -> None:
    roots = {table.name: FileSystems.join(output.rstrip("/"), table.name) for table, _ in AGGREGATES}
    for table, _ in AGGREGATES:
        check_sidecar(roots[table.name], table, privacy)
    # A DP release stays once made (see anonflow.dataflow.ledger): a re-run must not delete it.
    if _is_local(output) and privacy.dp is None:
        # A run owns its local output's tables: stale partitions from an earlier run would double-count.
        for table in ALL_TABLES:
            shutil.rmtree(Path(output) / table.name, ignore_errors=True)
    if _is_local(output):
        Path(output).mkdir(parents=True, exist_ok=True)
    for table, _ in AGGREGATES:
        write_sidecar(roots[table.name], table, privacy)


def _source(config: JobConfig, files: list[str], region: str | None) -> beam.PTransform:
    if config.source == "kinesis":
        from anonflow.dataflow.sources.kinesis import KinesisStream, ReadPayloadsFromKinesis

        stream = KinesisStream(config.stream, region, config.kinesis_endpoint_url, config.kinesis_start)
        return ReadPayloadsFromKinesis(
            stream,
            stop_at_latest=config.kinesis_stop_at_latest,
            discovery_interval_s=config.kinesis_discovery_interval_s,
        )
    if config.source == "pubsub":
        from anonflow.dataflow.sources.pubsub import ReadPayloadsFromPubSub

        subscription = config.stream if "/subscriptions/" in config.stream else None
        topic = None if subscription else config.stream
        return ReadPayloadsFromPubSub(subscription=subscription, topic=topic, id_label=config.pubsub_id_label)
    return ReadEntryFiles(files, ReadLimits(config.max_line_bytes, config.max_file_bytes))


def _event_window(config: JobConfig, streaming: bool) -> EventTimeWindow:
    """Given a processing time, the window is fixed; else a batch run centres it on its start and a
    streaming run on each entry's arrival."""
    if config.processing_time is not None:
        reference: int | None = int(config.processing_time.timestamp() * 1000)
    else:
        reference = None if streaming else int(time.time() * 1000)
    return EventTimeWindow(config.max_event_age_s, config.max_event_ahead_s, reference)


def _counters(result: beam.runners.runner.PipelineResult) -> dict[str, int]:
    counters: dict[str, int] = {}
    for counter in result.metrics().query()["counters"]:
        name = counter.key.metric.name
        counters[name] = counters.get(name, 0) + int(counter.committed or counter.attempted or 0)
    return counters


def run(argv: Sequence[str] | None = None) -> JobResult:
    options = PipelineOptions(argv)
    options.view_as(SetupOptions).save_main_session = False
    streaming = bool(options.view_as(StandardOptions).streaming)
    # Everything the job needs is checked before any work: a bad deployment fails in one line.
    ready = preflight(options)
    config, stores, files, privacy = ready.config, ready.stores, list(ready.files), ready.privacy
    region = ready.region
    operators = config.operators_output
    budget, publics = ready.budget, ready.publics
    ledger = ReleaseLedger(config.output) if budget is not None else None
    try:
        _prepare_output(config.output, privacy)
    except ValueError as error:  # a DP release in place under other parameters
        raise InputError(str(error)) from None

    window = _event_window(config, streaming)

    with beam.Pipeline(options=options) as pipeline:
        read = pipeline | "Read" >> _source(config, files, region)
        # Files also dead-letter what cannot be read (over-long lines, gzip bombs, cut-off uploads).
        payloads, unreadable = (
            (read.lines, [read[DEAD_LETTER_TAG]])
            if isinstance(read, beam.pvalue.DoOutputsTuple)
            else (read, [])
        )
        parsed = payloads | "Parse" >> ParseEntries(
            frozenset(stores.by_id()) if stores else None,
            window=window,
            require_routed=config.require_topic_record,
        )
        time_zones, default_zone = (stores.time_zones(), None) if stores else ({}, DEFAULT_TIME_ZONE)
        entries, rejected = parsed.entries, [*unreadable, parsed[DEAD_LETTER_TAG]]
        if streaming:  # in a batch run nothing is late
            timely = entries | "TooLate" >> DeadLetterTooLate(
                time_zones, default_zone, allowed_lateness_s=config.allowed_lateness_s
            )
            entries, rejected = timely.entries, [*rejected, timely[DEAD_LETTER_TAG]]
        days = (
            entries
            | "StoreDays"
            >> WindowStoreDays(
                time_zones,
                default_zone,
                allowed_lateness_s=config.allowed_lateness_s,
                early_firing_s=config.early_firing_s,
            )
            | "Tracks" >> SummariseTracks(config.heatmap_grid)
            | "Reconnect" >> Reconnect(stores)
        )
        _ = days | "Count" >> CountStoreDays()
        for table, aggregate in AGGREGATES:
            name = table.name.title().replace("_", "")
            _ = (
                days
                | name >> aggregate()
                | f"Protect{name}" >> ProtectCells(table, privacy, vocabularies=publics, ledger=ledger)
                | f"Write{name}" >> WriteTable(config.output, table, replace_all=not streaming)
            )
        dead = rejected | "AllRejects" >> beam.Flatten()
        _ = dead | "DeadLetters" >> WriteDeadLetters(operators)
        if config.metrics_namespace:
            publish = partial(
                PublishCount,
                namespace=config.metrics_namespace,
                region=region,
                endpoint_url=config.cloudwatch_endpoint_url,
            )
            # Every line read ends either as a counted entry or as a dead letter (unparsable, too late).
            _ = (entries, dead) | "AllRead" >> beam.Flatten() | "ReadMetric" >> publish(ENTRIES_READ)
            _ = dead | "DeadLetterMetric" >> publish(DEAD_LETTERS)

    if _is_local(config.output):
        write_views(Path(config.output))
    if _is_local(operators) and Path(operators).is_dir():
        write_operator_views(Path(operators))
    return JobResult(files=len(files), counters=_counters(pipeline.result), output=config.output)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m anonflow.dataflow.pipeline ARGS`: exit 2 with one line on an expected problem."""
    logging.basicConfig(level=logging.INFO)
    try:
        print(run(argv))
    except AnonflowError as error:
        print(f"anonflow.dataflow.pipeline: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
