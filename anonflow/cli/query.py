"""`anonflow query "SQL"`: SQL over the analysts' tables with DuckDB, printed as a table."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

DB_ENV = "ANONFLOW_DB"
DEFAULT_DB = Path("demo-out") / "tables" / "analytics.duckdb"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "query",
        help="run SQL over the tables (DuckDB) and print the result",
        description="Run one SQL statement with DuckDB against the views written by `anonflow pipeline` "
        "(footfall, dwell, demographics, flows, heatmap; dead letters are in the operators' "
        "dead_letters.duckdb) and print a table.",
    )
    parser.add_argument("sql", help='the statement, e.g. "SELECT * FROM footfall ORDER BY window_start"')
    parser.add_argument("--db", type=Path, help=f"DuckDB file (default: ${DB_ENV}, else {DEFAULT_DB})")
    parser.add_argument(
        "--max-rows", type=int, default=200, help="print at most this many rows (default 200)"
    )
    parser.add_argument("--format", choices=["table", "csv", "json"], default="table", help="output format")
    parser.set_defaults(handler=run)


def _check_layout(db: Path) -> None:
    """A database the job wrote reads the folders beside it: refuse them if edited out of shape."""
    from anonflow.contract.errors import InputError
    from anonflow.contract.tables import ANALYST_TABLES, OPERATOR_TABLES
    from anonflow.dataflow.sinks.duckdb_views import DB_NAME, OPERATORS_DB_NAME
    from anonflow.dataflow.sinks.layout import layout_problems

    tables = {DB_NAME: ANALYST_TABLES, OPERATORS_DB_NAME: OPERATOR_TABLES}.get(db.name)
    if tables is None:  # a database of the analyst's own: its files are theirs
        return
    problems = layout_problems(db.parent, tables)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InputError(f"tables {db.parent}: {problems[0]}{more}")


def run(args: argparse.Namespace) -> int:
    import duckdb

    from anonflow.cli.tabulate import render
    from anonflow.contract.errors import InputError

    db = args.db or Path(os.environ.get(DB_ENV, DEFAULT_DB))
    if not db.is_file():
        raise InputError(f"database {db} does not exist; run `anonflow pipeline` (or `anonflow demo`) first")
    _check_layout(db)
    try:
        with duckdb.connect(str(db), read_only=True) as connection:
            connection.execute("SET TimeZone = 'UTC'")
            cursor = connection.execute(args.sql)
            if cursor.description is None:
                print("ok")
                return 0
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchmany(args.max_rows + 1)
    except duckdb.Error as error:
        first_line = str(error).strip().splitlines()[0]
        raise InputError(f"query failed: {first_line}") from None
    print(render(names, rows[: args.max_rows], args.format))
    if len(rows) > args.max_rows:
        print(f"(first {args.max_rows} rows shown; raise --max-rows for more)")
    return 0
