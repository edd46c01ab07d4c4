"""The Beam job end to end on entries the edge made from a sample video, plus broken and repeated lines."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from anonflow.cli.main import main
from dataflow.pipeline import run as run_job

START = "2026-11-21T10:00:00Z"


@pytest.fixture(scope="module")
def edge_entries(tmp_path_factory: pytest.TempPathFactory, video_dir: Path) -> Path:
    """Entries from the real chain on the aisle clip, as `anonflow analyze` writes them."""
    directory = tmp_path_factory.mktemp("entries")
    code = main(
        [
            "analyze",
            str(video_dir / "store-aisle-detection.gif"),
            "--entries",
            str(directory / "aisle.ndjson"),
            "--store-id",
            "s1",
            "--camera-id",
            "aisle",
            "--start-time",
            START,
            "--entry-interval",
            "0.5",
            "--no-progress",
        ]
    )
    assert code == 0
    return directory


@pytest.fixture(scope="module")
def job(
    edge_entries: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[dict[str, object]], dict[str, int]]:
    lines = (edge_entries / "aisle.ndjson").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    bad = tmp_path_factory.mktemp("bad")
    broken = {
        "not json": '{"entry_id": ',
        "face point": json.dumps(
            {**entries[0], "entry_id": "f" * 32, "keypoints": {"nose": {"x": 0.1, "y": 0.1, "score": 0.9}}}
        ),
        "missing field": json.dumps({k: v for k, v in entries[0].items() if k != "store_id"}),
    }
    # The first three entries arrive twice, as after a gateway reconnect.
    (bad / "replayed.ndjson").write_text("\n".join([*lines[:3], *broken.values()]) + "\n")
    (bad / "half-written.ndjson.part").write_text("ignored: still being written")
    inputs = tmp_path_factory.mktemp("inputs")
    for source in (edge_entries / "aisle.ndjson", bad / "replayed.ndjson", bad / "half-written.ndjson.part"):
        (inputs / source.name).write_text(source.read_text())
    output = tmp_path_factory.mktemp("tables")
    result = run_job([f"--input={inputs}", f"--output={output}", "--k_anonymity=1"])
    return output, entries, result.counters


def query(output: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(output / "analytics.duckdb"), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_footfall_counts_distinct_tracks(job: tuple[Path, list[dict[str, object]], dict[str, int]]) -> None:
    output, entries, _ = job
    tracks = {e["track_id"] for e in entries}
    rows = query(
        output, "SELECT granularity, zone_id, visitors, suppressed FROM footfall ORDER BY granularity"
    )
    assert rows == [("1h", "all", len(tracks), False), ("5m", "all", len(tracks), False)]


def test_bad_lines_go_to_dead_letter_with_reasons(
    job: tuple[Path, list[dict[str, object]], dict[str, int]],
) -> None:
    output, _, _ = job
    rows = query(output, "SELECT reason, source FROM dead_letter ORDER BY source")
    reasons = [r[0] for r in rows]
    assert len(rows) == 3
    assert any(r.startswith("not JSON") for r in reasons)
    assert any("keypoints.nose: unknown field" in r for r in reasons)
    assert any("store_id: Field required" in r for r in reasons)
    assert all(":" in str(r[1]) and "replayed.ndjson" in str(r[1]) for r in rows)


def test_partitions_and_views(job: tuple[Path, list[dict[str, object]], dict[str, int]]) -> None:
    output, _, _ = job
    assert sorted(p.name for p in (output / "footfall").iterdir()) == ["store_id=s1"]
    assert [p.name for p in (output / "footfall" / "store_id=s1").iterdir()] == ["date=2026-11-21"]
    names = {r[0] for r in query(output, "SELECT view_name FROM duckdb_views() WHERE NOT internal")}
    assert {"footfall", "dwell", "demographics", "flows", "heatmap", "dead_letter"} <= names


def test_suppression_hides_small_counts(edge_entries: Path, tmp_path: Path) -> None:
    assert (
        main(["pipeline", "--input", str(edge_entries), "--output", str(tmp_path), "--k-anonymity", "50"])
        == 0
    )
    rows = query(tmp_path, "SELECT visitors, suppressed FROM footfall")
    assert rows and all(v is None and s for v, s in rows)


def test_replayed_entries_are_counted_once(job: tuple[Path, list[dict[str, object]], dict[str, int]]) -> None:
    _, entries, counters = job
    assert counters["entries_duplicate"] == 3
    assert counters["entries_valid"] == len(entries) + 3
    assert counters["entries_dead_letter"] == 3
