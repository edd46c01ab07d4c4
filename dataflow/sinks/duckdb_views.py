"""`analytics.duckdb`: one view per table over its Parquet files, for analysts on a laptop."""

from __future__ import annotations

from pathlib import Path

from anonflow.contract.tables import ALL_TABLES, PARTITION_KEYS, Table

DB_NAME = "analytics.duckdb"
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


def write_views(root: Path) -> Path:
    """Create or refresh `root/analytics.duckdb` with a view per table. Returns the database path."""
    import duckdb

    path = root / DB_NAME
    with duckdb.connect(str(path)) as connection:
        connection.execute("SET TimeZone = 'UTC'")
        for table in ALL_TABLES:
            connection.execute(view_sql(table, root))
            for column in table.columns:
                connection.execute(
                    f"COMMENT ON COLUMN {table.name}.{column.name} IS {_quote(column.description)}"
                )
            connection.execute(f"COMMENT ON VIEW {table.name} IS {_quote(table.description)}")
    return path
