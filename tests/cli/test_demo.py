"""`anonflow demo`, the main job, end to end on the real sample videos (at a low frame rate)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from anonflow.cli.demo import write_synthetic_week
from anonflow.cli.main import main
from anonflow.cli.samples import DEMO_STORE, SAMPLE_CAMERAS
from tests.kit.httpserve import refusing_url, serving


def test_demo_prints_a_footfall_table_from_real_detections(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--output", str(tmp_path), "--fps", "1", "--no-synthetic"]) == 0
    out = capsys.readouterr().out
    assert "footfall (demo-store)" in out
    # A report of the clips' tables, unless the release published none of their rows (it says so).
    assert f"report: {tmp_path / 'report.html'}" in out or "the release published no footfall row" in out
    assert not (tmp_path / "synthetic-week").exists()  # --no-synthetic leaves the week out
    for sample in SAMPLE_CAMERAS:
        assert (tmp_path / "entries" / f"{sample.camera_id}.ndjson").is_file()
        # The audit preview and its person-free plate, which the report's heatmaps are drawn over.
        assert (tmp_path / "previews" / f"{sample.camera_id}.mp4").is_file()
        assert (tmp_path / "previews" / f"{sample.camera_id}.background.png").is_file()
    if (tmp_path / "report.html").is_file():
        page = (tmp_path / "report.html").read_text()
        assert "over the camera's person-free background" in page or "Where people walk" not in page
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


def test_demo_in_a_fresh_clone_fetches_converts_and_runs_from_public_sources(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    model_dir: Path,
    video_dir: Path,
) -> None:
    # No model or video directory set: the demo fetches the upstream IR (from a local stand-in for the
    # public model storage), converts and proves it, downloads the sample videos (from a local stand-in
    # for their public host), then runs the whole chain.
    for name in (
        "ANONFLOW_MODEL_DIR",
        "ANONFLOW_VIDEO_DIR",
        "ANONFLOW_MODEL_MIRROR",
        "ANONFLOW_VIDEO_MIRROR",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANONFLOW_CACHE_DIR", str(tmp_path / "cache"))
    with serving(model_dir / "upstream") as storage, serving(video_dir) as videos:
        code = main(
            [
                "demo",
                "--output",
                str(tmp_path / "out"),
                "--fps",
                "1",
                "--no-synthetic",
                "--mirror",
                storage,
                "--video-mirror",
                videos,
            ]
        )

    out = capsys.readouterr().out
    assert code == 0
    assert "fetched openpose-lightweight" in out and "fetched person-attributes-0230" in out
    assert "walkway-cam: skipped" in out  # no public copy of that file may be fetched
    assert "footfall (demo-store)" in out and "entrance" in out
    for sample in SAMPLE_CAMERAS[:3]:
        assert (tmp_path / "cache" / "videos" / sample.file).is_file()


def test_demo_without_network_names_the_url_and_the_manual_way(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANONFLOW_VIDEO_DIR", raising=False)
    monkeypatch.setenv("ANONFLOW_CACHE_DIR", str(tmp_path / "cache"))

    code = main(["demo", "--output", str(tmp_path / "out"), "--video-mirror", refusing_url()])

    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "Connection refused" in err and SAMPLE_CAMERAS[0].url in err and "by hand" in err
    assert not list((tmp_path / "cache").rglob("*.part"))


def test_demo_writes_a_labelled_synthetic_week(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The week beside the clips' tables: seven store-local days of the demo store, marked synthetic."""
    from anonflow.dataflow.pipeline import run as run_job

    # Fewer people than the demo's default week: the layout and labels are what is tested here.
    [report] = write_synthetic_week(tmp_path, run_job, mean_people=40)
    assert report == tmp_path / "synthetic-week" / "report.html"
    out = capsys.readouterr().out
    assert "labelled synthetic" in out
    # The week's people per day is printed: what a running store's footfall looks like.
    assert "footfall per store-local day (synthetic week, whole store)" in out and "(7 rows)" in out
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
