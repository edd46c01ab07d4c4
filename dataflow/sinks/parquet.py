"""Rows -> Parquet under `<root>/<table>/store_id=<s>/date=<d>/`, via Beam's filesystems (local, S3, GCS)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.transforms import window

from anonflow.tables import Column, Table

_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int64": pa.int64(),
    "double": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("ms", tz="UTC"),
}


def arrow_schema(table: Table) -> pa.Schema:
    """The Parquet schema of a table's files (partition keys live in the path, not the file)."""
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.type], nullable=c.nullable) for c in table.columns])


def partition_dir(root: str, table: Table, store_id: str, date: str) -> str:
    return FileSystems.join(root.rstrip("/"), table.name, f"store_id={store_id}", f"date={date}")


def write_partition(root: str, table: Table, store_id: str, date: str, rows: list[dict[str, object]]) -> str:
    """Write one Parquet file of `rows` (dicts keyed by column name; timestamps as UTC milliseconds)."""
    schema = arrow_schema(table)
    columns = {c.name: [_value(row.get(c.name), c) for row in rows] for c in table.columns}
    data = pa.Table.from_pydict(columns, schema=schema)
    directory = partition_dir(root, table, store_id, date)
    FileSystems.mkdirs(directory) if not FileSystems.exists(directory) else None
    path = FileSystems.join(directory, f"part-{uuid.uuid4().hex[:12]}.parquet")
    with FileSystems.create(path) as handle:
        pq.write_table(data, handle, compression="zstd")
    return path


def _value(value: object, column: Column) -> object:
    if value is None and not column.nullable:
        raise ValueError(f"column {column.name} is not nullable but a row has no value")
    return value


class _WriteGroup(beam.DoFn):
    def __init__(self, root: str, table: Table) -> None:
        self._root = root
        self._table = table
        self.rows = Metrics.counter("anonflow", f"rows_{table.name}")

    def process(self, element: tuple[tuple[str, str], Iterable[dict[str, object]]]) -> Iterator[str]:
        (store_id, date), rows = element
        batch = list(rows)
        self.rows.inc(len(batch))
        yield write_partition(self._root, self._table, store_id, date, batch)


class WriteTable(beam.PTransform):
    """Rows (dicts with `store_id`, `date` and the table's columns) -> one Parquet file per partition."""

    def __init__(self, root: str, table: Table) -> None:
        super().__init__()
        self._root = root
        self._table = table

    def expand(self, rows: beam.PCollection) -> beam.PCollection:
        return (
            rows
            | "Global" >> beam.WindowInto(window.GlobalWindows())
            | "ByPartition" >> beam.Map(lambda r: ((str(r["store_id"]), str(r["date"])), r))
            | "Group" >> beam.GroupByKey()
            | "Write" >> beam.ParDo(_WriteGroup(self._root, self._table))
        )
