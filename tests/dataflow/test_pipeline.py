"""The Beam job end to end on entries the edge made from a sample video, plus broken and repeated lines.

The aisle clip is analysed with two zones (near / far) and a counting line between them, so every table
gets real rows. The stores file turns re-connection within the camera off (an occlusion gap of 10 ms), so
each track is one journey and the expected tables follow from the entries alone, computed here
independently of the job.

The clip lasts seconds: a handful of short journeys, which the real release hides entirely (fewer than k
people, see tests/dataflow/test_release.py). To check the tables' values end to end, the `job` fixture
swaps the release step for `PublishExact`, a test double that publishes the true rows; the last test
runs the real release on the same entries.
"""

from __future__ import annotations

import itertools
import json
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest

from anonflow.cli.main import main
from anonflow.dataflow import pipeline
from anonflow.dataflow.pipeline import run as run_job
from tests.dataflow.builders import PublishExact

START = "2026-11-21T10:00:00Z"
PROCESSED = "--processing_time=2026-11-21T11:00:00Z"  # the job checks event times against it
CAMERA = """
zones:
  - id: near
    polygon: [[0.0, 0.93], [1.0, 0.93], [1.0, 1.0], [0.0, 1.0]]
  - id: far
    polygon: [[0.0, 0.0], [1.0, 0.0], [1.0, 0.93], [0.0, 0.93]]
lines:
  - id: aisle-line
    start: [0.0, 0.9]
    end: [1.0, 0.9]
"""
STORES = """
stores:
  - store_id: s1
    time_zone: Europe/Berlin
    occlusion: {max_gap_s: 0.01}
"""
Job = tuple[Path, list[dict[str, Any]], dict[str, int]]


@pytest.fixture(scope="module")
def edge_entries(tmp_path_factory: pytest.TempPathFactory, video_dir: Path) -> Path:
    """Entries from the real chain on the aisle clip, as `anonflow analyze` writes them."""
    directory = tmp_path_factory.mktemp("entries")
    (directory / "camera.yaml").write_text(CAMERA)
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
            "--config",
            str(directory / "camera.yaml"),
            "--no-progress",
        ]
    )
    assert code == 0
    (directory / "camera.yaml").unlink()
    return directory


@pytest.fixture(scope="module")
def job(edge_entries: Path, tmp_path_factory: pytest.TempPathFactory) -> Job:
    lines = (edge_entries / "aisle.ndjson").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    bad = tmp_path_factory.mktemp("bad")
    broken = {
        "not json": '{"entry_id": ',
        "face point": json.dumps(
            {**entries[0], "entry_id": "f" * 32, "keypoints": {"nose": {"x": 0.1, "y": 0.1, "score": 0.9}}}
        ),
        "missing field": json.dumps({k: v for k, v in entries[0].items() if k != "store_id"}),
        "unknown store": json.dumps({**entries[0], "entry_id": "e" * 32, "store_id": "s9"}),
    }
    # The first three entries arrive twice, once more inside a gateway batch message.
    batch = json.dumps({"entries": entries[:3]})
    (bad / "replayed.ndjson").write_text("\n".join([batch, *broken.values()]) + "\n")
    (bad / "half-written.ndjson.part").write_text("ignored: still being written")
    inputs = tmp_path_factory.mktemp("inputs")
    for source in (edge_entries / "aisle.ndjson", bad / "replayed.ndjson", bad / "half-written.ndjson.part"):
        (inputs / source.name).write_text(source.read_text())
    stores = tmp_path_factory.mktemp("config") / "stores.yaml"
    stores.write_text(STORES)
    root = tmp_path_factory.mktemp("job")
    output = root / "tables"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "ProtectCells", PublishExact)
        result = run_job([f"--input={inputs}", f"--output={output}", f"--stores={stores}", PROCESSED])
    return output, entries, result.counters


def query(output: Path, sql: str, db: str = "analytics.duckdb") -> list[tuple[Any, ...]]:
    with duckdb.connect(str(output / db), read_only=True) as connection:
        connection.execute("SET TimeZone = 'UTC'")
        return connection.execute(sql).fetchall()


def by_track(entries: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    ordered = sorted(entries, key=lambda e: (e["track_id"], e["event_time_ms"], e["entry_id"]))
    return {track: list(group) for track, group in itertools.groupby(ordered, key=lambda e: e["track_id"])}


def majority(labels: list[str]) -> str:
    ranked = Counter(label for label in labels if label != "unknown").most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return "unknown"
    return ranked[0][0]


def test_footfall_of_the_day(job: Job) -> None:
    output, entries, _ = job
    tracks = by_track(entries)
    crossed = {
        d: {t for t, es in tracks.items() for e in es for c in e["line_crossings"] if c["direction"] == d}
        for d in ("in", "out")
    }
    spans = [(es[0]["event_time_ms"], es[-1]["event_time_ms"]) for es in tracks.values()]
    peak = max(sum(1 for s, e in spans if s <= t <= e) for t, _ in spans)
    rows = query(
        output,
        "SELECT zone_id, visitors, entries, exits, peak_occupancy, suppressed FROM footfall "
        "WHERE granularity = '1d' ORDER BY zone_id",
    )
    in_zone = {
        z: {t for t, es in tracks.items() if any(z in e["zones"] for e in es)} for z in ("far", "near")
    }
    assert rows[0] == ("*", len(tracks), len(crossed["in"]), len(crossed["out"]), peak, False)
    assert [(z, v) for z, v, *_ in rows[1:]] == [("far", len(in_zone["far"])), ("near", len(in_zone["near"]))]
    assert all(e <= v and x <= v and 1 <= p <= v for _, v, e, x, p, _ in rows)
    # The clip lasts seconds: one 5-minute, one hour and one day window, each with the same visitors.
    windows = query(
        output, "SELECT granularity, count(*), max(visitors) FROM footfall WHERE zone_id = '*' GROUP BY 1"
    )
    assert sorted(windows) == [("1d", 1, len(tracks)), ("1h", 1, len(tracks)), ("5m", 1, len(tracks))]


def test_day_is_cut_in_store_local_time(job: Job) -> None:
    output, _, _ = job
    # 10:00Z is 11:00 in Berlin: the local day starts at 23:00Z the evening before.
    rows = query(
        output,
        "SELECT DISTINCT strftime(window_start, '%Y-%m-%d %H:%M') FROM footfall WHERE granularity = '1d'",
    )
    assert rows == [("2026-11-20 23:00",)]


def test_dwell_demographics_flows_heatmap(job: Job) -> None:
    output, entries, _ = job
    tracks = by_track(entries)
    durations = sorted((es[-1]["event_time_ms"] - es[0]["event_time_ms"]) / 1000 for es in tracks.values())
    dwell = query(
        output,
        "SELECT visitors, dwell_p50_s, dwell_mean_s FROM dwell WHERE zone_id = '*' AND granularity = '1d'",
    )
    assert dwell == [
        (len(tracks), pytest.approx(statistics.median(durations)), pytest.approx(statistics.fmean(durations)))
    ]

    labels = Counter(
        (
            majority([e["demographics"]["gender"] for e in es]),
            majority([e["demographics"]["age_group"] for e in es]),
        )
        for es in tracks.values()
    )
    demographics = query(
        output,
        "SELECT gender, age_group, visitors FROM demographics WHERE zone_id = '*' AND granularity = '1d'",
    )
    assert Counter({(g, a): n for g, a, n in demographics}) == labels

    moves: Counter[tuple[str, str]] = Counter()
    for es in tracks.values():
        zones = [z for z, _ in itertools.groupby(e["zones"][0] for e in es)]
        moves.update(set(itertools.pairwise(zones)))
    flows = query(output, "SELECT from_zone, to_zone, visitors FROM flows WHERE granularity = '1d'")
    assert Counter({(a, b): n for a, b, n in flows}) == moves and moves

    heat = query(
        output,
        "SELECT sum(observations), count(DISTINCT camera_id), max(grid_size) FROM heatmap "
        "WHERE granularity = '1d'",
    )
    assert heat == [(len(entries), 1, 16)]


def test_bad_lines_go_to_dead_letter_with_reasons(job: Job) -> None:
    output, _, _ = job
    # Operators only: beside the tables (default `operators` next to --output), never among them.
    operators = output.parent / "operators"
    rows = query(
        operators, "SELECT reason, source, store_id FROM dead_letter ORDER BY source", "dead_letters.duckdb"
    )
    reasons = [r[0] for r in rows]
    assert len(rows) == 4
    assert any(r.startswith("not JSON") for r in reasons)
    assert any("keypoints: unknown field" in r for r in reasons)
    assert any("store_id: Field required" in r for r in reasons)
    assert any("store 's9' is not in the stores file" in r for r in reasons)
    assert all(":" in str(r[1]) and "replayed.ndjson" in str(r[1]) for r in rows)
    # A reject that names a valid store is filed under it, so the store's analysts see it.
    assert sorted({r[2] for r in rows}) == ["s1", "s9", "unknown"]
    # The raw text is redacted: the face keypoint sent by mistake is not kept.
    raws = [r[0] for r in query(operators, "SELECT raw FROM dead_letter", "dead_letters.duckdb")]
    face = next(raw for raw in raws if '"nose"' in raw)
    assert '"nose": "<redacted>"' in face and "0.9" not in face.split('"nose"')[1][:40]


def test_partitions_and_views(job: Job) -> None:
    output, _, _ = job
    for table in ("footfall", "dwell", "demographics", "flows", "heatmap"):
        assert [p.name for p in (output / table).iterdir() if p.is_dir()] == ["store_id=s1"]
        assert [p.name for p in (output / table / "store_id=s1").iterdir()] == ["date=2026-11-21"]
        assert (output / table / "_privacy.json").is_file()
    names = {r[0] for r in query(output, "SELECT view_name FROM duckdb_views() WHERE NOT internal")}
    assert names == {"footfall", "dwell", "demographics", "flows", "heatmap"}
    assert not (output / "dead_letter").exists()


def test_replayed_entries_are_counted_once(job: Job) -> None:
    _, entries, counters = job
    assert counters["entries_duplicate"] == 3
    assert counters["entries_valid"] == len(entries) + 3
    assert counters["entries_counted"] == len(entries)
    assert counters["entries_dead_letter"] == 4
    assert counters["entries_late"] == 0  # a batch run has nothing late


def test_the_real_release_through_the_cli(edge_entries: Path, tmp_path: Path) -> None:
    """Without a stores file, through the CLI: the real release publishes none of the clip's few short
    journeys (rows below k are not written at all, keys included) and records its parameters."""
    assert (
        main(
            [
                "pipeline",
                "--input",
                str(edge_entries),
                "--output",
                str(tmp_path),
                "--k-anonymity",
                "50",
                PROCESSED,
            ]
        )
        == 0
    )
    for table in ("footfall", "dwell", "demographics", "flows", "heatmap"):
        assert query(tmp_path, f"SELECT count(*) FROM {table}") == [(0,)]
    sidecar = json.loads((tmp_path / "footfall" / "_privacy.json").read_text())
    assert sidecar["k"] == 50 and sidecar["perturbation"]["method"] == "cell key"


def test_the_differentially_private_release_through_the_cli(
    edge_entries: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --dp-epsilon: noisy journey counts over the stores file's public zones, `_privacy.json` says
    DP, and a second run over the same output publishes nothing new (the first release stays)."""
    stores = tmp_path / "stores.yaml"
    stores.write_text(STORES)
    argv = ["pipeline", "--input", str(edge_entries), "--output", str(tmp_path / "out"), PROCESSED]
    argv += ["--stores", str(stores), "--dp-epsilon", "2.0"]
    assert main(argv) == 2  # the store names no zones: its partitions cannot be public
    assert "store 's1' names no zones or no cameras" in capsys.readouterr().err
    stores.write_text(STORES + "    zones: [near, far]\n    cameras: [aisle]\n")
    assert main(argv) == 0
    sidecar = json.loads((tmp_path / "out" / "footfall" / "_privacy.json").read_text())
    assert sidecar["differentially_private"] is True and sidecar["epsilon_per_store_day"] == 2.0
    zones = query(tmp_path / "out", "SELECT DISTINCT zone_id FROM footfall")
    assert {z for (z,) in zones} <= {"*", "near", "far"}
    assert query(tmp_path / "out", "SELECT count(*) FROM footfall WHERE entries IS NOT NULL") == [(0,)]
    day = next((tmp_path / "out" / "footfall").glob("store_id=s1/date=*/day.parquet"))
    first = day.read_bytes()
    # Five-minute rows are not published in this mode by default (a share of 0), so they have no count.
    assert set(json.loads((day.parent / "_unpublished.json").read_text())) == {"1h", "1d"}
    assert main(argv) == 0  # a re-run draws no new noise to average
    assert day.read_bytes() == first
    capsys.readouterr()
    for other in (["--dp-epsilon", "3.0"], []):  # another budget, or the k-anonymous mode, over it
        assert main([*argv[:-2], *other]) == 2
        assert "describes a differentially private release with other parameters" in capsys.readouterr().err
    assert day.read_bytes() == first
    assert list((tmp_path / "out" / "_dp_releases" / "footfall").glob("store_id=s1/date=*.json"))
