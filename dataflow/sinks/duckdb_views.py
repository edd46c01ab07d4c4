"""`analytics.duckdb`: one view per analyst table over its Parquet files, for analysts on a laptop; and
`dead_letters.duckdb` in the operators' location, with the dead-letter view only."""

from __future__ import annotations

from pathlib import Path

from anonflow.contract.tables import ANALYST_TABLES, OPERATOR_TABLES, PARTITION_KEYS, Table

DB_NAME = "analytics.duckdb"
OPERATORS_DB_NAME = "dead_letters.duckdb"
_SQL_TYPES = {
    "string": "VARCHAR",
    "int64": "BIGINT",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
    "timestamp": "TIMESTAMPTZ",
}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def view_sql(table: Table, root: Path) -> str:
    """A view over the table's files; an empty, typed view when the job wrote none (an empty day)."""
    files = sorted((root / table.name).glob("store_id=*/date=*/*.parquet"))
    columns = [*table.columns, *PARTITION_KEYS]
    if not files:
        typed = ", ".join(f"CAST(NULL AS {_SQL_TYPES[c.type]}) AS {c.name}" for c in columns)
        return f"CREATE OR REPLACE VIEW {table.name} AS SELECT {typed} WHERE false"
    pattern = _quote(str((root / table.name).resolve()) + "/*/*/*.parquet")
    names = ", ".join(c.name for c in columns)
    return (
        f"CREATE OR REPLACE VIEW {table.name} AS SELECT {names} FROM read_parquet({pattern}, "
        "hive_partitioning = true, hive_types = {'store_id': VARCHAR, 'date': DATE})"
    )


def write_views(root: Path, tables: tuple[Table, ...] = ANALYST_TABLES, name: str = DB_NAME) -> Path:
    """Create or refresh `root/<name>` with a view per table. Returns the database path."""
    import duckdb

    path = root / name
    with duckdb.connect(str(path)) as connection:
        connection.execute("SET TimeZone = 'UTC'")
        for stale in {t.name for t in (*ANALYST_TABLES, *OPERATOR_TABLES)} - {t.name for t in tables}:
            connection.execute(f"DROP VIEW IF EXISTS {stale}")  # an older release's view, e.g. dead_letter
        for table in tables:
            connection.execute(view_sql(table, root))
            for column in table.columns:
                connection.execute(
                    f"COMMENT ON COLUMN {table.name}.{column.name} IS {_quote(column.description)}"
                )
            connection.execute(f"COMMENT ON VIEW {table.name} IS {_quote(table.description)}")
    return path


def write_operator_views(root: Path) -> Path:
    """`root/dead_letters.duckdb` with the dead-letter view, in the operators' location."""
    return write_views(root, OPERATOR_TABLES, OPERATORS_DB_NAME)
