"""`anonflow demo`, the main job, end to end on the real sample videos (at a low frame rate)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from anonflow.cli.demo import write_synthetic_week
from anonflow.cli.main import main
from anonflow.cli.samples import DEMO_STORE, SAMPLE_CAMERAS


def test_demo_prints_a_footfall_table_from_real_detections(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--output", str(tmp_path), "--fps", "1", "--no-synthetic"]) == 0
    out = capsys.readouterr().out
    assert "footfall (demo-store)" in out
    assert f"report: {tmp_path / 'report.html'}" in out
    assert not (tmp_path / "synthetic-week").exists()  # --no-synthetic leaves the week out
    for sample in SAMPLE_CAMERAS:
        assert (tmp_path / "entries" / f"{sample.camera_id}.ndjson").is_file()
    with duckdb.connect(str(tmp_path / "tables" / "analytics.duckdb"), read_only=True) as db:
        rows = db.execute(
            "SELECT zone_id, visitors FROM footfall WHERE granularity = '1h' AND NOT suppressed"
        ).fetchall()
    # People walk through the entrance and walkway clips: both zones have real, unsuppressed counts.
    zones = {zone: visitors for zone, visitors in rows}
    assert zones.get("entrance", 0) >= 3
    assert zones.get("walkway", 0) >= 3
    for zone, _ in rows:
        assert zone in out


def test_demo_writes_a_labelled_synthetic_week(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The week beside the clips' tables: seven store-local days of the demo store, marked synthetic."""
    from anonflow.dataflow.pipeline import run as run_job

    [report] = write_synthetic_week(tmp_path, run_job)
    assert report == tmp_path / "synthetic-week" / "report.html"
    assert "labelled synthetic" in capsys.readouterr().out
    marker = json.loads((tmp_path / "synthetic-week" / "SYNTHETIC.json").read_text())
    assert marker["synthetic"] and marker["store_id"] == DEMO_STORE and len(marker["days"]) == 7
    assert marker["days"][-1]["date"] == "2026-11-21"  # ends on the clips' day
    with duckdb.connect(
        str(tmp_path / "synthetic-week" / "tables" / "analytics.duckdb"), read_only=True
    ) as db:
        days = db.execute(
            "SELECT date, strftime(window_start AT TIME ZONE 'Europe/Berlin', '%H:%M') FROM footfall "
            "WHERE granularity = '1d' AND zone_id = '*' ORDER BY date"
        ).fetchall()
    assert [str(d) for d, _ in days] == [m["date"] for m in marker["days"]]
    assert {local for _, local in days} == {"00:00"}  # store-local days (Europe/Berlin)
    page = report.read_text(encoding="utf-8")
    assert "<strong>Synthetic data.</strong>" in page and "Europe/Berlin (from stores.yaml)" in page
