"""`anonflow query` refuses a tables directory edited out of the job's layout, one line per kind of damage,
and reads a good one."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from anonflow.cli.main import main
from anonflow.contract.tables import ANALYST_TABLES, FOOTFALL
from anonflow.dataflow.sinks.duckdb_views import write_views
from anonflow.dataflow.sinks.parquet import arrow_schema

PARTITION = Path("footfall") / "store_id=s1" / "date=2024-05-14"


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tables directory as the job lays it out: every analyst table with one empty day file."""
    root = tmp_path_factory.mktemp("tables")
    for table in ANALYST_TABLES:
        day = root / table.name / "store_id=s1" / "date=2024-05-14"
        day.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist([], schema=arrow_schema(table)), day / "day.parquet")
        (root / table.name / "_privacy.json").write_text("{}")
    write_views(root)
    return root


def _copy(path: Path, to: Path) -> None:
    to.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, to)


Damage = Callable[[Path], None]

# (case, what is done by hand to a good directory, the error after "tables <root>: ")
CASES: list[tuple[str, Damage, str]] = [
    (
        "a text file named .parquet",
        lambda r: (r / PARTITION / "extra.parquet").write_text("store,count\ns1,3\n"),
        "footfall/store_id=s1/date=2024-05-14/extra.parquet: not a Parquet file",
    ),
    (
        "a cut-off Parquet file",
        lambda r: (r / PARTITION / "cut.parquet").write_bytes(
            (r / PARTITION / "day.parquet").read_bytes()[:-8]
        ),
        "footfall/store_id=s1/date=2024-05-14/cut.parquet: not a Parquet file",
    ),
    (
        "a CSV export beside the day file",
        lambda r: (r / PARTITION / "day.csv").write_text("x\n"),
        "footfall/store_id=s1/date=2024-05-14/day.csv: only .parquet files belong in a partition",
    ),
    (
        "a day file one level too high",
        lambda r: _copy(r / PARTITION / "day.parquet", r / "footfall" / "store_id=s1" / "day.parquet"),
        "footfall/store_id=s1/day.parquet: not a date=YYYY-MM-DD partition",
    ),
    (
        "a partition named by hand",
        lambda r: _copy(
            r / PARTITION / "day.parquet", r / "footfall" / "store=s1" / "date=2024-05-14" / "d.parquet"
        ),
        "footfall/store=s1: not a store_id=<id> partition",
    ),
    (
        "an impossible date",
        lambda r: _copy(
            r / PARTITION / "day.parquet", r / "footfall" / "store_id=s1" / "date=2024-02-30" / "d.parquet"
        ),
        "footfall/store_id=s1/date=2024-02-30: not a date=YYYY-MM-DD partition",
    ),
    (
        "a store id the job would never write",
        lambda r: (r / "footfall" / "store_id=evil store").mkdir(),
        "footfall/store_id=evil store: not a store_id=<id> partition",
    ),
    (
        "partitions of a table the job does not write",
        lambda r: _copy(
            r / PARTITION / "day.parquet", r / "visitors" / "store_id=s1" / "date=2024-05-14" / "day.parquet"
        ),
        "visitors/: not a table here",
    ),
    (
        "dead letters copied among the analysts' tables",
        lambda r: (r / "dead_letter" / "store_id=s1").mkdir(parents=True),
        "dead_letter/: not a table here",
    ),
]


@pytest.mark.parametrize(("case", "damage", "error"), CASES, ids=[c[0] for c in CASES])
def test_a_hand_made_bad_directory_is_one_line(
    good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, damage: Damage, error: str
) -> None:
    root = tmp_path / "tables"
    shutil.copytree(good, root)
    damage(root)
    assert main(["query", "--db", str(root / "analytics.duckdb"), "SELECT count(*) FROM footfall"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"anonflow query: error: tables {root}: {error}"), err
    assert len(err.strip().splitlines()) == 1


def test_the_job_layout_reads(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The control: the same checks pass the directory as the job wrote it."""
    assert main(["query", "--db", str(good / "analytics.duckdb"), "--format", "csv", "SELECT 1 AS one"]) == 0
    assert capsys.readouterr().out.splitlines() == ["one", "1"]


def _one_row(schema: pa.Schema) -> pa.Table:
    def value(kind: pa.DataType) -> object:
        if pa.types.is_timestamp(kind):
            return datetime(2024, 5, 14, 10, tzinfo=UTC)
        if pa.types.is_boolean(kind):
            return False
        if pa.types.is_integer(kind):
            return 1
        return 1.0 if pa.types.is_floating(kind) else "x"

    return pa.Table.from_pylist([{f.name: value(f.type) for f in schema}], schema=schema)


@pytest.mark.parametrize(
    ("where", "counted"), [(PARTITION, 1), (PARTITION.parent, 0)], ids=["right", "too high"]
)
def test_control_duckdb_alone_skips_a_file_at_the_wrong_depth(
    good: Path, tmp_path: Path, where: Path, counted: int
) -> None:
    """Without the check a misplaced day file is silently left out of the view: nothing says so."""
    import duckdb

    root = tmp_path / "tables"
    shutil.copytree(good, root)
    pq.write_table(_one_row(arrow_schema(FOOTFALL)), root / where / "more.parquet")
    write_views(root)  # the views name their folder by absolute path: point them at the copy
    with duckdb.connect(str(root / "analytics.duckdb"), read_only=True) as db:
        assert db.execute("SELECT count(*) FROM footfall").fetchone() == (counted,)
