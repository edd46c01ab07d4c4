"""`anonflow report` on a DuckDB file with small, realistic rows: structure of the page, figures, errors.

No browser is installed here, so the page is checked structurally: every figure is an inline PNG that
decodes, and nothing in the page points outside it.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import matplotlib.pyplot as plt
import numpy as np
import pytest

from anonflow.cli.main import main
from anonflow.contract.tables import ANALYST_TABLES, PARTITION_KEYS

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
    for table in ANALYST_TABLES:
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
            for zone in ZONES:
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
        for zone in ZONES:
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
                for age in ("0-17", "18-34", "35-54", "55+", "unknown"):
                    n = int(rng.integers(0, 80))
                    demographics.append(
                        {
                            "zone_id": zone,
                            **_window(0, "1d"),
                            "gender": gender,
                            "age_band": age,
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
    connection.close()
    return path


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str | None]] = []
        self.links: list[str] = []
        self.headings: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "img":
            self.images.append(attributes)
        for name in ("href", "src"):
            value = attributes.get(name)
            if value is not None and not value.startswith("data:"):
                self.links.append(value)
        self._in_h2 = tag == "h2"

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self.headings.append(data)
            self._in_h2 = False


def _parse(path: Path) -> tuple[_Page, str]:
    text = path.read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    return page, text


def test_report_is_one_self_contained_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = build_db(tmp_path / "analytics.duckdb")
    frame = tmp_path / "entrance.png"
    plt.imsave(frame, np.full((48, 64, 3), 0.5))
    (tmp_path / "footfall").mkdir()
    (tmp_path / "footfall" / "_privacy.json").write_text(json.dumps({"k": 5, "differential_privacy": None}))
    out = tmp_path / "report" / "report.html"

    code = main(
        [
            "report",
            "--db",
            str(db),
            "--out",
            str(out),
            "--time-zone",
            "Europe/Berlin",
            "--background",
            f"entrance={frame}",
        ]
    )

    assert code == 0
    assert "6 figures" in capsys.readouterr().out  # four plots and two camera heatmaps
    page, text = _parse(out)
    assert page.links == []  # nothing outside the page: no scripts, styles, fonts or images by URL
    assert "http://" not in text and "https://" not in text
    assert len(page.images) == 6
    for image in page.images:
        src = image["src"] or ""
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.headings[:4] == ["Visitors per hour", "Dwell", "Demographics", "Flows between zones"]
    assert "Where people walk" in page.headings and "Dead letters" not in page.headings  # operators only
    assert "footfall: k = 5, exact counts" in text
    assert "store store-001" in text


def test_report_on_the_jobs_own_tables(
    tmp_path: Path, storeday: ModuleType, capsys: pytest.CaptureFixture[str], exact_release: None
) -> None:
    """The report reads what `anonflow pipeline` wrote: four plots and one heatmap per camera. The job
    publishes exact rows here (`exact_release`): the real release would hide nearly every cell of a
    40-visitor day, and this test is about the report reading the job's layout."""
    storeday.write(
        storeday.generate(storeday.StoreDayConfig(visitors=40, seed=6, bad_lines=6)), tmp_path / "day"
    )
    tables = tmp_path / "tables"
    argv = ["pipeline", "--input", str(tmp_path / "day" / "entries"), "--output", str(tables)]
    assert main([*argv, "--stores", str(tmp_path / "day" / "stores.yaml"), "--dp-epsilon", "1.0"]) == 0
    out = tmp_path / "report.html"
    assert main(["report", "--db", str(tables / "analytics.duckdb"), "--out", str(out)]) == 0
    assert "8 figures" in capsys.readouterr().out  # four plots and the four cameras' heatmaps
    page, text = _parse(out)
    assert len(page.images) == 8 and page.links == []
    assert "geometric noise, ε = 1.0 per count (not DP)" in text  # the parameters recorded next to the tables


def test_empty_tables_say_so(tmp_path: Path) -> None:
    db = build_db(tmp_path / "analytics.duckdb", empty=True)
    out = tmp_path / "report.html"
    assert main(["report", "--db", str(db), "--out", str(out)]) == 0
    page, text = _parse(out)
    assert page.images == []
    assert "No rows for Visitors per hour." in text


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database and a few broken inputs, shared by the error cases."""
    root = tmp_path_factory.mktemp("report")
    build_db(root / "analytics.duckdb")
    (root / "broken.png").write_bytes(b"not an image")
    (root / "notdb.duckdb").write_text("hello")
    with duckdb.connect(str(root / "partial.duckdb")) as connection:
        connection.execute("CREATE TABLE footfall (store_id VARCHAR)")
    return root


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--db", "{tmp}/missing.duckdb"], "does not exist"),
        (["--db", "{db}", "--store", "store-999"], "store 'store-999' has no footfall rows"),
        (["--db", "{db}", "--time-zone", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (
            ["--db", "{db}", "--background", "entrance={tmp}/nope.png"],
            "background image for entrance does not exist",
        ),
        (["--db", "{db}", "--background", "entrance={tmp}/broken.png"], "cannot be read"),
        (["--db", "{tmp}/notdb.duckdb"], "is not a DuckDB database"),
        (["--db", "{tmp}/partial.duckdb"], "has no dwell, demographics, flows, heatmap view(s)"),
    ],
)
def test_mistakes_are_one_line(
    shared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    filled = [a.format(tmp=shared, db=shared / "analytics.duckdb") for a in args]
    assert main(["report", *filled, "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
