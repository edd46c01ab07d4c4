"""The Beam job. `run()` only parses options and wires named transforms, top to bottom."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, SetupOptions

from anonflow.errors import InputError
from anonflow.tables import ALL_TABLES, DEAD_LETTER, FOOTFALL, Table
from dataflow.deadletter import DEAD_LETTER_TAG, DeadLetter
from dataflow.options import AnonflowOptions
from dataflow.sinks.parquet import WriteTable
from dataflow.transforms.dedupe import DedupeEntries
from dataflow.transforms.footfall import Footfall
from dataflow.transforms.parse import ParseEntries
from dataflow.transforms.read import ReadEntryFiles, entry_files

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JobResult:
    """What a finished batch run reports."""

    files: int
    counters: dict[str, int]
    output: str


def _dead_letter_row(dead: DeadLetter) -> dict[str, object]:
    return {
        "store_id": "unknown",
        "date": datetime.fromtimestamp(dead.received_at_ms / 1000, UTC).date().isoformat(),
        "source": dead.source,
        "reason": dead.reason,
        "raw": dead.raw,
        "received_at": dead.received_at_ms,
    }


def _is_local(path: str) -> bool:
    return "://" not in path


def _clear_local_tables(output: str, tables: Sequence[Table]) -> None:
    # A run owns its output directory's tables: stale partitions from an earlier run would double-count.
    for table in tables:
        shutil.rmtree(Path(output) / table.name, ignore_errors=True)


def run(argv: Sequence[str] | None = None) -> JobResult:
    options = PipelineOptions(argv)
    options.view_as(SetupOptions).save_main_session = False
    job = options.view_as(AnonflowOptions)
    # Listing the input happens before the pipeline exists: give Beam's S3/GCS filesystems their options now.
    FileSystems.set_options(options)
    files = entry_files(job.input)
    if not files:
        raise InputError(f"input {job.input} holds no entry files")
    if _is_local(job.output):
        Path(job.output).mkdir(parents=True, exist_ok=True)
        _clear_local_tables(job.output, ALL_TABLES)

    with beam.Pipeline(options=options) as pipeline:
        parsed = pipeline | "Read" >> ReadEntryFiles(files) | "Parse" >> ParseEntries()
        observations = parsed.entries | "Dedupe" >> DedupeEntries()
        footfall_5m = observations | "Footfall5m" >> Footfall(
            window_s=300, granularity="5m", k=job.k_anonymity
        )
        footfall_1h = observations | "Footfall1h" >> Footfall(
            window_s=3600, granularity="1h", k=job.k_anonymity
        )
        (
            (footfall_5m, footfall_1h)
            | "AllFootfall" >> beam.Flatten()
            | "WriteFootfall" >> WriteTable(job.output, FOOTFALL)
        )
        (
            parsed[DEAD_LETTER_TAG]
            | "DeadLetterRows" >> beam.Map(_dead_letter_row)
            | "WriteDeadLetter" >> WriteTable(job.output, DEAD_LETTER)
        )
    metrics = pipeline.result.metrics().query()
    counters: dict[str, int] = {}
    for counter in metrics["counters"]:
        name = counter.key.metric.name
        counters[name] = counters.get(name, 0) + int(counter.committed or counter.attempted or 0)
    if _is_local(job.output):
        from dataflow.sinks.duckdb_views import write_views

        write_views(Path(job.output))
    return JobResult(files=len(files), counters=counters, output=job.output)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    result = run()
    print(result)
