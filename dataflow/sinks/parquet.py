"""Rows -> Parquet under `<root>/<table>/store_id=<s>/date=<d>/`, via Beam's filesystems (local, S3, GCS).

Analyst tables: each store-day pane writes `part-<pane>.parquet` into its partition and then deletes the
partition's files of earlier panes (in a batch run: every other file), so a partition always holds
exactly one day's latest result, and a re-run replaces what it wrote before. File names are
deterministic, so a retried bundle overwrites its own file.

Dead letters are appended: one file per partition and window, named by a hash of its rows' sources, under
the operators' location (never the analysts'), their raw text redacted (`anonflow.dataflow.redact`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.transforms import window
from apache_beam.utils.timestamp import Timestamp

from anonflow.contract.tables import DEAD_LETTER, Column, Row, Table
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
_PANE_FILE = re.compile(r"part-(\d{5})\.parquet$")


def arrow_schema(table: Table) -> pa.Schema:
    """The Parquet schema of a table's files (partition keys live in the path, not the file)."""
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.type], nullable=c.nullable) for c in table.columns])


def partition_dir(root: str, table: Table, store_id: str, date: str) -> str:
    return FileSystems.join(root.rstrip("/"), table.name, f"store_id={store_id}", f"date={date}")


def _value(value: object, column: Column) -> object:
    if value is None and not column.nullable:
        raise ValueError(f"column {column.name} is not nullable but a row has no value")
    return value


def write_file(path: str, table: Table, rows: Iterable[Row]) -> str:
    """Write `rows` (each with exactly the table's columns; timestamps as UTC milliseconds) as one
    Parquet file; ValueError naming the column if a row has an unknown or missing one."""
    rows = [table.check_released(row) for row in rows]
    columns = {c.name: [_value(row[c.name], c) for row in rows] for c in table.columns}
    data = pa.Table.from_pydict(columns, schema=arrow_schema(table))
    directory = path.rsplit("/", 1)[0]
    if "://" not in path and not FileSystems.exists(directory):
        FileSystems.mkdirs(directory)  # object stores have no directories to make
    with FileSystems.create(path) as handle:
        pq.write_table(data, handle, compression="zstd")
    return path


def replace_partition(root: str, table: Table, batch: TableRows, *, replace_all: bool) -> str:
    """Write one store-day pane's rows and delete the partition's older files; returns the new file.

    replace_all: delete every other file (batch runs: one writer per partition); otherwise only files
    of earlier panes (streaming: a slow earlier pane must not delete a newer one).
    """
    directory = partition_dir(root, table, batch.store_id, batch.date)
    path = write_file(FileSystems.join(directory, f"part-{batch.pane:05d}.parquet"), table, batch.rows)
    existing = FileSystems.match([FileSystems.join(directory, "*.parquet")])[0].metadata_list
    stale = []
    for meta in existing:
        if meta.path == path:
            continue
        found = _PANE_FILE.search(meta.path)
        if replace_all or (found is not None and int(found.group(1)) < batch.pane):
            stale.append(meta.path)
    if stale:
        FileSystems.delete(stale)
    return path


class _WritePane(beam.DoFn):
    def __init__(self, root: str, table: Table, replace_all: bool) -> None:
        self._root = root
        self._table = table
        self._replace_all = replace_all
        self.rows = Metrics.counter("anonflow", f"rows_{table.name}")

    def process(self, batch: TableRows) -> Iterator[str]:
        if batch.table != self._table.name:
            raise ValueError(f"rows of table {batch.table} given to the {self._table.name} writer")
        self.rows.inc(len(batch.rows))
        yield replace_partition(self._root, self._table, batch, replace_all=self._replace_all)


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


class _AppendGroup(beam.DoFn):
    def __init__(self, root: str) -> None:
        self._root = root
        self.rows = Metrics.counter("anonflow", f"rows_{DEAD_LETTER.name}")

    def process(self, element: tuple[tuple[str, str], Iterable[Row]]) -> Iterator[str]:
        (store_id, date), rows = element
        batch = sorted(rows, key=lambda r: (str(r["source"]), str(r["reason"])))
        self.rows.inc(len(batch))
        digest = hashlib.sha1("\n".join(f"{r['source']}\t{r['reason']}" for r in batch).encode()).hexdigest()
        directory = partition_dir(self._root, DEAD_LETTER, store_id, date)
        yield write_file(FileSystems.join(directory, f"part-{digest[:16]}.parquet"), DEAD_LETTER, batch)


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
