"""What the report reads from the analysts' DuckDB file: the six views, filtered to one store.

The headline people figure is read through PEOPLE_COLUMN only, so renaming the tables' headline column
is one line here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from anonflow import __version__
from anonflow.contract.errors import InputError
from anonflow.contract.tables import ANALYST_TABLES, UNPUBLISHED_FILE
from anonflow.dataflow.journeys import STORE_ZONE

# The footfall / dwell / demographics / flows / heatmap column that counts people (k is checked on it).
PEOPLE_COLUMN: Final = "visitors"
# The footfall column saying how many of those people the estimate is unsure of (see dataflow/people/).
UNCERTAINTY_COLUMN: Final = "unlinked"
# A file the demo writes next to a synthetic week's tables; the page then says the data is synthetic.
SYNTHETIC_MARKER: Final = "SYNTHETIC.json"
_CELL_TABLES = ("footfall", "dwell", "demographics", "flows", "heatmap")
_HOUR: Final = timedelta(hours=1)


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
class Window:
    """One footfall row: a zone's people in one window (UTC bounds; `day` is the store-local date)."""

    zone_id: str
    granularity: str
    start: datetime
    end: datetime
    day: date
    people: int | None
    peak_occupancy: int | None
    suppressed: bool
    # Of `people`, those whose journeys reach back to no door entry: the estimate's uncertainty (the true
    # count most likely lies between people - unlinked and people); None without door lines.
    unlinked: int | None = None


@dataclass(frozen=True, slots=True)
class Stay:
    """One daily dwell row of a zone (`*`: the whole visit): how long people stayed, in seconds."""

    zone_id: str
    day: date
    people: int | None
    p50_s: float | None
    p90_s: float | None
    suppressed: bool


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything one report shows, already filtered to one store (and optionally one local date).

    windows: footfall rows of 1 h and 1 d, every zone, ordered by start then zone.
    store_days: the whole-store daily rows of every date (not only the report's), for comparisons.
    demographics: gender, age_group, people, suppressed_cells (whole store, summed over the period).
    flows: from_zone, to_zone, people, suppressed_cells (summed over the period).
    heatmap: camera_id, grid_size, cell_x, cell_y, observations, suppressed (summed over the period).
    unpublished: per table, cells of the public grid the release left out over the period (fewer than k
    people, possibly none), where the job knew the store's grid (`_unpublished.json`, see the sinks).
    """

    store_id: str
    first_date: date | None
    last_date: date | None
    windows: tuple[Window, ...]
    store_days: tuple[Window, ...]
    stays: tuple[Stay, ...]
    demographics: Rows
    flows: Rows
    heatmap: Rows
    cells: Rows  # table_name, rows, suppressed
    privacy: dict[str, Any]
    synthetic: dict[str, Any] | None
    unpublished: dict[str, int] = field(default_factory=dict)

    @property
    def k(self) -> int | None:
        """The suppression threshold recorded next to the tables, if the job wrote it."""
        values = {r.get("k") for r in self.privacy.values() if isinstance(r.get("k"), int)}
        return values.pop() if len(values) == 1 else None

    @property
    def stay_min_people(self) -> int | None:
        """Fewest people a dwell row needs for its statistics to be published, if the job recorded it."""
        statistics = self.privacy.get("dwell", {}).get("statistics") or {}
        value = statistics.get("min_support")
        return value if isinstance(value, int) else None

    @property
    def zones(self) -> tuple[str, ...]:
        """Configured zones that have rows (the whole-store `*` excluded), sorted."""
        return tuple(sorted({w.zone_id for w in self.windows if w.zone_id != STORE_ZONE}))


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


def _unpublished(db: Path, store_id: str, first: date | None, last: date | None) -> dict[str, int]:
    """Per table, the unpublished grid cells the job recorded beside the day files of the period."""
    found: dict[str, int] = {}
    for table in ANALYST_TABLES:
        for path in (db.parent / table.name / f"store_id={store_id}").glob(f"date=*/{UNPUBLISHED_FILE}"):
            when = date.fromisoformat(path.parent.name.removeprefix("date="))
            if first is not None and last is not None and first <= when <= last:
                counts = json.loads(path.read_text(encoding="utf-8"))
                found[table.name] = found.get(table.name, 0) + sum(int(n) for n in counts.values())
    return found


def _synthetic_marker(db: Path) -> dict[str, Any] | None:
    """The marker of a synthetic data set, beside the tables or one folder up (where the demo puts it)."""
    for folder in (db.parent, db.parent.parent):
        path = folder / SYNTHETIC_MARKER
        if path.is_file():
            record = json.loads(path.read_text(encoding="utf-8"))
            return record if isinstance(record, dict) else {"note": str(record)}
    return None


def _check_columns(connection: Any, db: Path) -> None:
    """Tables written by another version of the job (a renamed or new column) are one clear line."""
    present: dict[str, set[str]] = {}
    for table, column in connection.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
    ).fetchall():
        present.setdefault(table, set()).add(column)
    for table in ANALYST_TABLES:
        missing = [c for c in table.column_names if c not in present.get(table.name, set())]
        if missing:
            raise InputError(
                f"{db}: {table.name} has no {', '.join(missing)} column(s); it was written by another "
                f"version of `anonflow pipeline` (anonflow {__version__} reads these): run the job again"
            )


def _windows(rows: Rows) -> tuple[Window, ...]:
    return tuple(Window(*row) for row in rows.rows)


def with_unpublished(windows: tuple[Window, ...]) -> tuple[Window, ...]:
    """The windows plus, as suppressed gaps, the cells the release did not publish.

    The release writes no row for a cell of fewer than k people, so a missing cell means "fewer than k
    people, possibly none". Within a store-local day's published hours (first to last hour any zone
    published) every zone seen in the period gets every hour, and every zone every published day; a
    missing one becomes a gap. Nights and closed days outside those spans stay blank. Nothing here is
    learnt from the data beyond the published rows: the gaps are the grid's holes.
    """
    have = {(w.zone_id, w.granularity, w.start) for w in windows}
    gaps: list[Window] = []
    hours = [w for w in windows if w.granularity == "1h"]
    hour_zones = sorted({w.zone_id for w in hours})
    for day in sorted({w.day for w in hours}):
        of_day = [w for w in hours if w.day == day]
        start, last = min(w.start for w in of_day), max(w.start for w in of_day)
        while start <= last:
            gaps += [
                Window(zone, "1h", start, start + _HOUR, day, None, None, True)
                for zone in hour_zones
                if (zone, "1h", start) not in have
            ]
            start += _HOUR
    days = {(w.start, w.end, w.day) for w in windows if w.granularity == "1d"}
    day_zones = sorted({w.zone_id for w in windows if w.granularity == "1d"})
    gaps += [
        Window(zone, "1d", start, end, day, None, None, True)
        for start, end, day in days
        for zone in day_zones
        if (zone, "1d", start) not in have
    ]
    return tuple(sorted((*windows, *gaps), key=lambda w: (w.start, w.zone_id, w.granularity)))


def _store(connection: Any, db: Path, store_id: str | None) -> str:
    stores = sorted(r[0] for r in connection.execute("SELECT DISTINCT store_id FROM footfall").fetchall())
    if store_id is None:
        if len(stores) > 1:
            raise InputError(f"{db} holds stores {', '.join(stores)}; choose one with --store")
        return stores[0] if stores else "(none)"
    if store_id not in stores:
        raise InputError(
            f"store {store_id!r} has no footfall rows in {db} (stores: {', '.join(stores) or 'none'})"
        )
    return store_id


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
        store_id = _store(connection, db, store_id)
        where = "store_id = ?" + (" AND date = ?" if day else "")
        params: list[Any] = [store_id, day] if day else [store_id]
        span = connection.execute(
            f"SELECT min(date), max(date) FROM footfall WHERE {where}", params
        ).fetchone()

        def q(sql: str, repeat: int = 1) -> Rows:
            return _query(connection, sql.replace("{where}", where), params * repeat)

        _check_columns(connection, db)
        window_columns = (
            "zone_id, granularity, window_start, window_end, date, "
            f"{PEOPLE_COLUMN}, peak_occupancy, suppressed, {UNCERTAINTY_COLUMN}"
        )
        return ReportData(
            store_id=store_id,
            first_date=span[0] if span else None,
            last_date=span[1] if span else None,
            windows=with_unpublished(
                _windows(
                    q(
                        f"SELECT {window_columns} FROM footfall WHERE {{where}} "
                        "AND granularity IN ('1h', '1d') ORDER BY window_start, zone_id"
                    )
                )
            ),
            store_days=_windows(
                _query(
                    connection,
                    f"SELECT {window_columns} FROM footfall WHERE store_id = ? AND granularity = '1d' "
                    f"AND zone_id = '{STORE_ZONE}' ORDER BY window_start",
                    [store_id],
                )
            ),
            stays=tuple(
                Stay(*row)
                for row in q(
                    f"SELECT zone_id, date, {PEOPLE_COLUMN}, dwell_p50_s, dwell_p90_s, suppressed FROM dwell "
                    "WHERE {where} AND granularity = '1d' ORDER BY date, zone_id"
                ).rows
            ),
            # The whole-store rows: a person seen in several zones is in each zone's rows once.
            demographics=q(
                f"SELECT gender, age_group, coalesce(sum({PEOPLE_COLUMN}), 0) AS people, "
                "count(*) FILTER (WHERE suppressed) AS suppressed_cells FROM demographics "
                f"WHERE {{where}} AND granularity = '1d' AND zone_id = '{STORE_ZONE}' "
                "GROUP BY gender, age_group ORDER BY gender, age_group"
            ),
            flows=q(
                f"SELECT from_zone, to_zone, coalesce(sum({PEOPLE_COLUMN}), 0) AS people, "
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
            synthetic=_synthetic_marker(db),
            unpublished=_unpublished(db, store_id, span[0] if span else None, span[1] if span else None),
        )
