"""What the report reads from the analysts' DuckDB file: the six views, filtered to one store."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from anonflow.contract.errors import InputError
from anonflow.contract.tables import ANALYST_TABLES
from anonflow.dataflow.journeys import STORE_ZONE

_CELL_TABLES = ("footfall", "dwell", "demographics", "flows", "heatmap")


@dataclass(frozen=True, slots=True)
class Rows:
    """A query result: column names and row tuples."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def column(self, name: str) -> list[Any]:
        i = self.columns.index(name)
        return [r[i] for r in self.rows]

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything one report shows, already filtered to one store (and optionally a date range)."""

    store_id: str
    first_date: date | None
    last_date: date | None
    footfall_hourly: Rows  # zone_id, window_start, visitors, entries, exits, suppressed
    dwell_hourly: Rows  # zone_id, visitors, dwell_p50_s, suppressed
    dwell_daily: Rows  # zone_id, visitors, dwell_p50_s, dwell_p90_s, dwell_mean_s (summed over days: mean)
    demographics: Rows  # gender, age_band, visitors, suppressed_cells (whole store, zone '*')
    flows: Rows  # from_zone, to_zone, visitors, suppressed_cells
    heatmap: Rows  # camera_id, grid_size, cell_x, cell_y, observations, suppressed
    cells: Rows  # table, rows, suppressed
    privacy: dict[str, Any]


def _query(connection: Any, sql: str, params: list[Any]) -> Rows:
    cursor = connection.execute(sql, params)
    return Rows(tuple(d[0] for d in cursor.description), cursor.fetchall())


def _privacy_sidecars(db: Path) -> dict[str, Any]:
    """`_privacy.json` of each table, if the job wrote them next to the tables (see dataflow.privacy)."""
    found = {}
    for table in ANALYST_TABLES:
        path = db.parent / table.name / "_privacy.json"
        if path.is_file():
            found[table.name] = json.loads(path.read_text(encoding="utf-8"))
    return found


def load(db: Path, store_id: str | None = None, day: date | None = None) -> ReportData:
    """Read the report's data; a missing file, missing views or an unknown store is one InputError."""
    import duckdb

    if not db.is_file():
        raise InputError(f"database {db} does not exist; run `anonflow pipeline` first")
    try:
        connection = duckdb.connect(str(db), read_only=True)
    except duckdb.Error as error:
        raise InputError(f"{db} is not a DuckDB database: {str(error).splitlines()[0]}") from None
    with connection:
        connection.execute("SET TimeZone = 'UTC'")
        present = {
            r[0] for r in connection.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        missing = [t.name for t in ANALYST_TABLES if t.name not in present]
        if missing:
            raise InputError(
                f"{db} has no {', '.join(missing)} view(s); was it written by `anonflow pipeline`?"
            )
        stores = sorted(r[0] for r in connection.execute("SELECT DISTINCT store_id FROM footfall").fetchall())
        if store_id is None:
            if len(stores) > 1:
                raise InputError(f"{db} holds stores {', '.join(stores)}; choose one with --store")
            store_id = stores[0] if stores else "(none)"
        elif store_id not in stores:
            raise InputError(
                f"store {store_id!r} has no footfall rows in {db} (stores: {', '.join(stores) or 'none'})"
            )

        where = "store_id = ?" + (" AND date = ?" if day else "")
        params: list[Any] = [store_id, day] if day else [store_id]
        span = connection.execute(
            f"SELECT min(date), max(date) FROM footfall WHERE {where}", params
        ).fetchone()

        def q(sql: str, repeat: int = 1) -> Rows:
            return _query(connection, sql.replace("{where}", where), params * repeat)

        return ReportData(
            store_id=store_id,
            first_date=span[0] if span else None,
            last_date=span[1] if span else None,
            footfall_hourly=q(
                "SELECT zone_id, window_start, visitors, entries, exits, suppressed FROM footfall "
                "WHERE {where} AND granularity = '1h' ORDER BY window_start, zone_id"
            ),
            dwell_hourly=q(
                "SELECT zone_id, visitors, dwell_p50_s, suppressed FROM dwell "
                "WHERE {where} AND granularity = '1h' ORDER BY window_start, zone_id"
            ),
            dwell_daily=q(
                "SELECT zone_id, sum(visitors) AS visitors, avg(dwell_p50_s) AS dwell_p50_s, "
                "avg(dwell_p90_s) AS dwell_p90_s, avg(dwell_mean_s) AS dwell_mean_s FROM dwell "
                "WHERE {where} AND granularity = '1d' AND NOT suppressed GROUP BY zone_id ORDER BY zone_id"
            ),
            # The whole-store rows: a journey seen in several zones is in each zone's rows once.
            demographics=q(
                "SELECT gender, age_band, coalesce(sum(visitors), 0) AS visitors, "
                "count(*) FILTER (WHERE suppressed) AS suppressed_cells FROM demographics "
                f"WHERE {{where}} AND granularity = '1d' AND zone_id = '{STORE_ZONE}' "
                "GROUP BY gender, age_band ORDER BY gender, age_band"
            ),
            flows=q(
                "SELECT from_zone, to_zone, coalesce(sum(visitors), 0) AS visitors, "
                "count(*) FILTER (WHERE suppressed) AS suppressed_cells FROM flows "
                "WHERE {where} AND granularity = '1d' GROUP BY from_zone, to_zone ORDER BY from_zone, to_zone"
            ),
            heatmap=q(
                "SELECT camera_id, grid_size, cell_x, cell_y, "
                "coalesce(sum(observations), 0) AS observations, bool_and(suppressed) AS suppressed "
                "FROM heatmap WHERE {where} AND granularity = '1d' "
                "GROUP BY camera_id, grid_size, cell_x, cell_y ORDER BY camera_id, cell_y, cell_x"
            ),
            cells=q(
                " UNION ALL ".join(
                    f"SELECT '{t}' AS table_name, count(*) AS rows, "
                    f"count(*) FILTER (WHERE suppressed) AS suppressed FROM {t} WHERE {{where}}"
                    for t in _CELL_TABLES
                ),
                repeat=len(_CELL_TABLES),
            ),
            privacy=_privacy_sidecars(db),
        )
