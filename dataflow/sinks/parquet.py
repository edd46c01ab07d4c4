"""Rows -> Parquet under `<root>/<table>/store_id=<s>/date=<d>/`, via Beam's filesystems (local, S3, GCS).

Analyst tables: a partition holds one file, `day.parquet`, the day's latest pane. A pane is written
to a hidden temporary name first and then renamed over it (an atomic replace on a local disk; on S3 and
GCS the new object appears whole), so a reader sees either the previous pane or the new one, never
both and never half a file. The file records its pane number; a pane older than the one in place (a
retried bundle finishing late) is skipped, so the newer result stays. A re-run replaces the file.

Dead letters are appended: one file per partition and window, named by the window and a hash of every
field of its rows (distinct rejects never share a name; a retried write overwrites its own file), under
the operators' location (never the analysts'), their raw text redacted (`anonflow.dataflow.redact`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Final

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.transforms import window
from apache_beam.utils.timestamp import Timestamp

from anonflow.contract.tables import DEAD_LETTER, UNPUBLISHED_FILE, Column, Row, Table
from anonflow.dataflow.aggregate.base import TableRows
from anonflow.dataflow.deadletter import DeadLetter
from anonflow.dataflow.redact import redact

_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int64": pa.int64(),
    "double": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("ms", tz="UTC"),
}
DAY_FILE: Final = "day.parquet"
_PANE_KEY: Final = b"anonflow.pane"


def arrow_schema(table: Table) -> pa.Schema:
    """The Parquet schema of a table's files (partition keys live in the path, not the file)."""
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.type], nullable=c.nullable) for c in table.columns])


def partition_dir(root: str, table: Table, store_id: str, date: str) -> str:
    return FileSystems.join(root.rstrip("/"), table.name, f"store_id={store_id}", f"date={date}")


def _value(value: object, column: Column) -> object:
    if value is None and not column.nullable:
        raise ValueError(f"column {column.name} is not nullable but a row has no value")
    return value


def write_file(
    path: str, table: Table, rows: Iterable[Row], metadata: dict[bytes, bytes] | None = None
) -> str:
    """Write `rows` (each with exactly the table's columns; timestamps as UTC milliseconds) as one
    Parquet file; ValueError naming the column if a row has an unknown or missing one. metadata: kept in
    the file's schema (the day file's pane number)."""
    rows = [table.check_released(row) for row in rows]
    columns = {c.name: [_value(row[c.name], c) for row in rows] for c in table.columns}
    data = pa.Table.from_pydict(columns, schema=arrow_schema(table).with_metadata(metadata))
    directory = path.rsplit("/", 1)[0]
    if "://" not in path and not FileSystems.exists(directory):
        FileSystems.mkdirs(directory)  # object stores have no directories to make
    with FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        pq.write_table(data, handle, compression="zstd")
    return path


def written_pane(path: str) -> int | None:
    """The pane number recorded in a day file, or None when there is no such (readable) file."""
    if not FileSystems.exists(path):
        return None
    try:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            metadata = pq.ParquetFile(handle).schema_arrow.metadata or {}
    except (OSError, pa.ArrowException):  # a damaged file: the new pane replaces it
        return None
    pane = metadata.get(_PANE_KEY)
    return int(pane) if pane is not None and pane.isdigit() else None


def replace_partition(root: str, table: Table, batch: TableRows, *, replace_all: bool) -> str | None:
    """Swap one store-day pane's rows in as the partition's day file; returns it, or None if skipped.

    replace_all: write whatever is in place (batch runs: one writer per partition); otherwise skip a
    pane older than the one in place (streaming: a slow earlier pane must not replace a newer one).
    """
    directory = partition_dir(root, table, batch.store_id, batch.date)
    final = FileSystems.join(directory, DAY_FILE)
    if not replace_all:
        current = written_pane(final)
        if current is not None and current > batch.pane:
            return None
    # Hidden and not `*.parquet`: readers' globs never see it half-written.
    temporary = FileSystems.join(directory, f".{DAY_FILE}.pane-{batch.pane:05d}.tmp")
    write_file(temporary, table, batch.rows, {_PANE_KEY: str(batch.pane).encode()})
    FileSystems.rename([temporary], [final])
    # Any other file (one file per pane was the earlier layout) would be read beside the day file.
    existing = FileSystems.match([FileSystems.join(directory, "*.parquet")])[0].metadata_list
    stale = [meta.path for meta in existing if meta.path != final]
    if stale:
        FileSystems.delete(stale)
    if batch.unpublished:
        # Beside the day file, for the report: how many cells of the public grid the release left out.
        with FileSystems.create(
            FileSystems.join(directory, UNPUBLISHED_FILE), mime_type="application/json"
        ) as out:
            out.write(json.dumps(dict(batch.unpublished), sort_keys=True).encode())
    return final


class _WritePane(beam.DoFn):
    def __init__(self, root: str, table: Table, replace_all: bool) -> None:
        self._root = root
        self._table = table
        self._replace_all = replace_all
        self.rows = Metrics.counter("anonflow", f"rows_{table.name}")
        self.skipped = Metrics.counter("anonflow", "stale_panes_skipped")

    def process(self, batch: TableRows) -> Iterator[str]:
        if batch.table != self._table.name:
            raise ValueError(f"rows of table {batch.table} given to the {self._table.name} writer")
        written = replace_partition(self._root, self._table, batch, replace_all=self._replace_all)
        if written is None:
            self.skipped.inc()
            return
        self.rows.inc(len(batch.rows))
        yield written


class WriteTable(beam.PTransform):
    """`TableRows` -> one Parquet file per store-day partition, replacing the partition's older panes.

    replace_all: True in batch runs (each partition has one writer), False in streaming runs.
    """

    def __init__(self, root: str, table: Table, *, replace_all: bool) -> None:
        super().__init__()
        self._root = root
        self._table = table
        self._replace_all = replace_all

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        return batches | "Write" >> beam.ParDo(_WritePane(self._root, self._table, self._replace_all))


def dead_letter_row(dead: DeadLetter) -> tuple[tuple[str, str], Row]:
    """((store_id, UTC date received), row) of a dead letter."""
    date = datetime.fromtimestamp(dead.received_at_ms / 1000, UTC).date().isoformat()
    row = DEAD_LETTER.row(
        {
            "source": dead.source,
            "reason": dead.reason,
            "raw": redact(dead.raw),
            "received_at": dead.received_at_ms,
        }
    )
    return (dead.store_id, date), row


def dead_letter_file_name(rows: list[Row]) -> str:
    """`part-<first received ms>-<hash of every field of every row>.parquet`: distinct batches get
    distinct names (a later batch never overwrites an earlier one); the same batch gets the same name."""
    text = json.dumps(rows, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    first = min(int(str(r["received_at"])) for r in rows)
    return f"part-{first:013d}-{digest}.parquet"


class _AppendGroup(beam.DoFn):
    def __init__(self, root: str) -> None:
        self._root = root
        self.rows = Metrics.counter("anonflow", f"rows_{DEAD_LETTER.name}")

    def process(self, element: tuple[tuple[str, str], Iterable[Row]]) -> Iterator[str]:
        (store_id, date), rows = element
        batch = sorted(rows, key=lambda r: (str(r["source"]), str(r["reason"]), int(r["received_at"])))
        self.rows.inc(len(batch))
        yield write_file(
            FileSystems.join(
                partition_dir(self._root, DEAD_LETTER, store_id, date), dead_letter_file_name(batch)
            ),
            DEAD_LETTER,
            batch,
        )


def _stamp_received(dead: DeadLetter) -> window.TimestampedValue:
    # Processing time: a rejected payload is never late, whatever event time it claims.
    return window.TimestampedValue(dead, Timestamp(micros=dead.received_at_ms * 1000))


class WriteDeadLetters(beam.PTransform):
    """DeadLetters -> Parquet files appended to `dead_letter/store_id=<s>/date=<received>/`.

    window_s: in a streaming run, how often the rejects collected so far are written.
    """

    def __init__(self, root: str, *, window_s: float = 300.0) -> None:
        super().__init__()
        self._root = root
        self._window_s = window_s

    def expand(self, dead: beam.PCollection) -> beam.PCollection:
        return (
            dead
            | "Received" >> beam.Map(_stamp_received)
            | "Window" >> beam.WindowInto(window.FixedWindows(self._window_s))
            | "ByPartition" >> beam.Map(dead_letter_row)
            | "Group" >> beam.GroupByKey()
            | "Write" >> beam.ParDo(_AppendGroup(self._root))
        )
