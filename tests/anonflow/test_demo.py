"""`anonflow demo`, the main job, end to end on the real sample videos (at a low frame rate)."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from anonflow.cli.main import main
from anonflow.cli.samples import SAMPLE_CAMERAS


def test_demo_prints_a_footfall_table_from_real_detections(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--output", str(tmp_path), "--fps", "1"]) == 0
    out = capsys.readouterr().out
    assert "footfall (demo-store)" in out
    for sample in SAMPLE_CAMERAS:
        assert (tmp_path / "entries" / f"{sample.camera_id}.ndjson").is_file()
    with duckdb.connect(str(tmp_path / "tables" / "analytics.duckdb"), read_only=True) as db:
        rows = db.execute("SELECT zone_id, visitors FROM footfall WHERE granularity = '1h'").fetchall()
    # Real detections made footfall cells; the release published only those of at least k = 3 people
    # (a few seconds of the sample clips rarely hold three people at once; the release is tested in
    # tests/dataflow/test_release.py).
    computed = re.search(r"privacy: (\d+) of (\d+) footfall rows not published", out)
    assert computed and int(computed.group(2)) > 0
    assert all(visitors >= 3 for _, visitors in rows)
    for zone, _ in rows:
        assert zone in out
