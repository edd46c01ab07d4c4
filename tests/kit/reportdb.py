"""A small analysts' DuckDB file with realistic rows of one store-day, for the report's tests.

Tables are made from the contract's column lists, so they have exactly the views' columns. Some cells are
suppressed (fewer than 3 people) the way the job suppresses them: keys kept, values null.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from anonflow.contract.tables import ALL_TABLES, PARTITION_KEYS

_SQL = {
    "string": "VARCHAR",
    "int64": "BIGINT",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
    "timestamp": "TIMESTAMPTZ",
}
DAY = date(2024, 5, 14)
OPEN = datetime(2024, 5, 14, 6, tzinfo=UTC)  # 08:00 in Berlin
ZONES = ("entrance-front", "aisle-a-front", "checkout-left")


def _create(connection: Any) -> None:
    for table in ALL_TABLES:
        columns = [*table.columns, *PARTITION_KEYS]
        typed = ", ".join(f"{c.name} {'DATE' if c.name == 'date' else _SQL[c.type]}" for c in columns)
        connection.execute(f"CREATE TABLE {table.name} ({typed})")


def _insert(connection: Any, table: str, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        connection.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(row.values()))


def _window(hour: int, granularity: str = "1h") -> dict[str, Any]:
    start = OPEN + timedelta(hours=hour) if granularity == "1h" else datetime(2024, 5, 13, 22, tzinfo=UTC)
    length = timedelta(hours=1) if granularity == "1h" else timedelta(days=1)
    return {
        "granularity": granularity,
        "window_start": start,
        "window_end": start + length,
        "store_id": "store-001",
        "date": DAY,
    }


def build_db(path: Path, *, empty: bool = False) -> Path:
    rng = np.random.default_rng(0)
    connection = duckdb.connect(str(path))
    _create(connection)
    if not empty:
        footfall, dwell, demographics, flows, heatmap = [], [], [], [], []
        for hour in range(12):
            for zone in (*ZONES, "*"):
                visitors = int(rng.integers(0, 60)) if zone != "checkout-left" or hour > 1 else 2
                hidden = visitors < 3
                footfall.append(
                    {
                        "zone_id": zone,
                        **_window(hour),
                        "visitors": None if hidden else visitors,
                        "entries": None if hidden else visitors // 2,
                        "exits": None if hidden else visitors // 2,
                        "peak_occupancy": None if hidden else max(1, visitors // 6),
                        "suppressed": hidden,
                    }
                )
                dwell.append(
                    {
                        "zone_id": zone,
                        **_window(hour),
                        "visitors": None if hidden else visitors,
                        "dwell_p50_s": None if hidden else float(rng.uniform(20, 90)),
                        "dwell_p90_s": None if hidden else float(rng.uniform(90, 240)),
                        "dwell_mean_s": None if hidden else float(rng.uniform(30, 120)),
                        "suppressed": hidden,
                    }
                )
        for zone in (*ZONES, "*"):
            footfall.append(
                {
                    "zone_id": zone,
                    **_window(0, "1d"),
                    "visitors": 400,
                    "entries": 200,
                    "exits": 200,
                    "peak_occupancy": 12,
                    "suppressed": False,
                }
            )
            dwell.append(
                {
                    "zone_id": zone,
                    **_window(0, "1d"),
                    "visitors": 400,
                    "dwell_p50_s": 45.0,
                    "dwell_p90_s": 160.0,
                    "dwell_mean_s": 70.0,
                    "suppressed": False,
                }
            )
        for zone in (*ZONES, "*"):  # zone rows and the whole-store rows, as the job writes them
            for gender in ("female", "male", "unknown"):
                for age in ("child", "adult", "senior", "unknown"):
                    n = int(rng.integers(0, 80))
                    demographics.append(
                        {
                            "zone_id": zone,
                            **_window(0, "1d"),
                            "gender": gender,
                            "age_group": age,
                            "visitors": n if n >= 3 else None,
                            "suppressed": n < 3,
                        }
                    )
        for a in ZONES:
            for b in ZONES:
                if a != b:
                    n = int(rng.integers(0, 200))
                    flows.append(
                        {
                            **_window(0, "1d"),
                            "from_zone": a,
                            "to_zone": b,
                            "visitors": n if n >= 3 else None,
                            "suppressed": n < 3,
                        }
                    )
        for camera in ("entrance", "checkout"):
            for x in range(8):
                for y in range(8):
                    n = int(rng.integers(0, 40))
                    heatmap.append(
                        {
                            "camera_id": camera,
                            **_window(0, "1d"),
                            "grid_size": 8,
                            "cell_x": x,
                            "cell_y": y,
                            "observations": n * 10 if n >= 3 else None,
                            "visitors": n if n >= 3 else None,
                            "suppressed": n < 3,
                        }
                    )
        _insert(connection, "footfall", footfall)
        _insert(connection, "dwell", dwell)
        _insert(connection, "demographics", demographics)
        _insert(connection, "flows", flows)
        _insert(connection, "heatmap", heatmap)
        _insert(
            connection,
            "dead_letter",
            [
                {
                    "source": "f.ndjson:3",
                    "reason": "not JSON: Expecting value at column 1",
                    "raw": "\x00",
                    "received_at": OPEN,
                    "store_id": "unknown",
                    "date": DAY,
                },
                {
                    "source": "f.ndjson:9",
                    "reason": "not a valid entry: keypoints.nose: unknown field",
                    "raw": "{}",
                    "received_at": OPEN,
                    "store_id": "unknown",
                    "date": DAY,
                },
                {  # another store's: never on this store's page
                    "source": "g.ndjson:1",
                    "reason": "not a valid entry: box.x_min: out of range",
                    "raw": "{}",
                    "received_at": OPEN,
                    "store_id": "store-002",
                    "date": DAY,
                },
            ],
        )
    connection.close()
    return path
