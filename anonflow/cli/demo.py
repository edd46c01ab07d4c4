"""`anonflow demo`: the main job end to end on the sample videos, then the footfall table."""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from anonflow.cli.options import add_model_dir

FOOTFALL_SQL = (
    "SELECT zone_id, granularity, strftime(window_start, '%Y-%m-%d %H:%M') AS start_utc, "
    "strftime(window_end, '%Y-%m-%d %H:%M') AS end_utc, visitors, journeys, peak_occupancy, suppressed "
    "FROM footfall WHERE granularity IN ('1h', '1d') "
    "ORDER BY CASE granularity WHEN '5m' THEN 0 WHEN '1h' THEN 1 ELSE 2 END, window_start, zone_id"
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="the main job on the sample videos: analyze -> pipeline -> footfall table",
        description="Analyze every sample video as one camera of a demo store, run the Beam job over the "
        "entries, print the footfall table and write a report. Unless --no-synthetic, also write a "
        "clearly labelled synthetic week of the demo store (store-day generator) with its own tables and "
        "report, so the report shows a running store. Everything is written under --output.",
    )
    parser.add_argument(
        "--output", type=Path, default=Path("demo-out"), help="output directory (default demo-out)"
    )
    parser.add_argument(
        "--video-dir",
        help="folder holding the sample videos (default: $ANONFLOW_VIDEO_DIR; videos it lacks are downloaded "
        "from their public source into the download cache)",
    )
    parser.add_argument(
        "--video-mirror",
        metavar="URL",
        help="base URL of a folder serving the sample videos by file name, instead of their public source "
        "(default: $ANONFLOW_VIDEO_MIRROR)",
    )
    parser.add_argument(
        "--mirror",
        metavar="URL",
        help="host standing in for the public model storage, same paths (default: $ANONFLOW_MODEL_MIRROR); "
        "models are fetched and converted only when the model directory lacks them",
    )
    parser.add_argument(
        "--fps", type=float, default=5.0, help="frames per second analysed per video (default 5)"
    )
    parser.add_argument("--threads", type=int, default=2, help="inference threads (default 2)")
    parser.add_argument(
        "--no-synthetic",
        dest="synthetic",
        action="store_false",
        help="leave out the labelled synthetic week of the demo store (written to OUTPUT/synthetic-week)",
    )
    add_model_dir(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from anonflow.cli.options import parse_time_ms
    from anonflow.cli.samples import DEMO_STORE, DEMO_TIME_ZONE, SAMPLE_CAMERAS
    from anonflow.cli.tabulate import render
    from anonflow.edge.analyze import analyze_video
    from anonflow.edge.chain import build_chain
    from anonflow.edge.config import CameraChainConfig, ZoneConfig
    from anonflow.edge.preview import PreviewWriter
    from anonflow.edge.video import VideoFile

    models = _models(args)
    samples = _videos(args)
    entries_dir = args.output / "entries"
    entries_dir.mkdir(parents=True, exist_ok=True)
    backgrounds: dict[str, Path] = {}
    started = time.perf_counter()
    for resolved in samples:
        sample, path = resolved.sample, resolved.path
        if path is None:
            print(
                f"{sample.camera_id:>13}: skipped ({sample.file} is not in the video directory and is not "
                f"downloaded: licence {sample.licence})"
            )
            continue
        whole_view = ZoneConfig(id=sample.zone_id, polygon=[(0, 0), (1, 0), (1, 1), (0, 1)])
        config = CameraChainConfig(zones=[whole_view])
        chain = build_chain(
            config, store_id=DEMO_STORE, camera_id=sample.camera_id, model_dir=models, threads=args.threads
        )
        video = VideoFile(path, fps=args.fps)
        # The audit preview draws over a person-free plate of the scene; the report's heatmaps use it.
        preview = PreviewWriter(
            args.output / "previews" / f"{sample.camera_id}.mp4",
            video.recorded_fps / video.stride / config.detect_every,
            config.gate.point_threshold,
        )
        summary = analyze_video(
            video,
            chain,
            entries_dir / f"{sample.camera_id}.ndjson",
            start_time_ms=parse_time_ms(sample.start_time),
            sinks=[preview],
        )
        if preview.background_path.is_file():
            backgrounds[sample.camera_id] = preview.background_path
        ms = sum(summary.frame_ms) / max(len(summary.frame_ms), 1)
        print(
            f"{sample.camera_id:>13}: {summary.frames:4d} frames, {summary.people_detected:4d} people, "
            f"{summary.tracks:3d} tracks, {summary.entries:4d} entries, {ms:5.1f} ms/frame"
        )

    import duckdb

    from anonflow.dataflow.pipeline import run as run_job

    tables = args.output / "tables"
    stores = _stores_file(args.output, DEMO_STORE, DEMO_TIME_ZONE)
    # The samples play on a fixed date: the job checks event times against an hour after the last start.
    processed_ms = max(parse_time_ms(sample.start_time) for sample in SAMPLE_CAMERAS) + 3_600_000
    processed = datetime.fromtimestamp(processed_ms / 1000, UTC).isoformat()
    result = run_job(
        [
            f"--input={entries_dir}",
            f"--output={tables}",
            f"--stores={stores}",
            f"--processing_time={processed}",
        ]
    )
    counters = result.counters
    print(
        f"pipeline: {counters.get('entries_valid', 0)} entries, "
        f"{counters.get('entries_dead_letter', 0)} dead-letter, "
        f"{counters.get('entries_duplicate', 0)} duplicates"
    )
    db = tables / "analytics.duckdb"
    with duckdb.connect(str(db), read_only=True) as connection:
        connection.execute("SET TimeZone = 'UTC'")
        cursor = connection.execute(FOOTFALL_SQL)
        names = [d[0] for d in cursor.description or []]
        rows = cursor.fetchall()
    print(f"\nfootfall ({DEMO_STORE}), from {db}:")
    print(render(names, rows))
    hidden, released = (
        counters.get("cells_suppressed_footfall", 0),
        counters.get("cells_released_footfall", 0),
    )
    print(
        f"privacy: {hidden} of {hidden + released} footfall rows not published: fewer than 3 people behind "
        "them (a few seconds of video are a few people; see footfall/_privacy.json)"
    )
    reports = _report(tables / "analytics.duckdb", args.output / "report.html", stores, backgrounds)
    if args.synthetic:
        reports += write_synthetic_week(args.output, run_job)
    for report in reports:
        print(f"report: {report}")
    print(f"\ndone in {time.perf_counter() - started:.0f} s")
    print(f'try: anonflow query --db {db} "SELECT * FROM footfall"')
    return 0


def _models(args: argparse.Namespace) -> Path:
    """The model directory (the setting, else the download cache's), holding verified default models:
    fetched from their upstream release and converted when absent."""
    from anonflow.edge.modelfiles.registry import MODEL_DIR_ENV, default_model, model_dir
    from anonflow.models.download import cache_dir
    from anonflow.models.fetch import fetch

    explicit = args.model_dir or os.environ.get(MODEL_DIR_ENV)
    directory = model_dir(explicit) if explicit else cache_dir() / "models"
    directory.mkdir(parents=True, exist_ok=True)
    for role in ("pose", "attributes"):
        done = fetch(default_model(role), directory, args.mirror)
        if not done.already_present:
            print(f"fetched {done.spec.name} ({done.spec.licence}) from its upstream release: {done.path}")
    return directory


def _videos(args: argparse.Namespace) -> list[Any]:
    from anonflow.cli.options import VIDEO_DIR_ENV, video_dir
    from anonflow.cli.sample_videos import resolve_samples

    explicit = args.video_dir or os.environ.get(VIDEO_DIR_ENV)
    return list(resolve_samples(video_dir(explicit) if explicit else None, args.video_mirror))


def _stores_file(output: Path, store_id: str, time_zone: str) -> Path:
    """The demo store's entry for the job: its time zone (days and hours are cut in local time)."""
    import yaml

    path = output / "stores.yaml"
    path.write_text(yaml.safe_dump({"stores": [{"store_id": store_id, "time_zone": time_zone}]}), "utf-8")
    return path


def _report(db: Path, out: Path, stores: Path, backgrounds: dict[str, Path] | None = None) -> list[Path]:
    """The report of one set of tables, or none (said) when the release published no footfall row.
    Heatmaps are drawn over the cameras' person-free plates where `backgrounds` has them."""
    import duckdb

    from anonflow.dataflow.report.html import write_report

    with duckdb.connect(str(db), read_only=True) as connection:
        published = (connection.execute("SELECT count(*) FROM footfall").fetchone() or (0,))[0]
    if not published:
        print(f"report: none for {db}: the release published no footfall row (fewer than k people at once)")
        return []
    return [write_report(db, out, stores=stores, backgrounds=backgrounds).path]


def write_synthetic_week(output: Path, run_job: Any, mean_people: int | None = None) -> list[Path]:
    """Seven synthetic days of the demo store ending on the clips' day, through the same job."""
    from anonflow.cli.samples import DEMO_STORE, DEMO_TIME_ZONE, SAMPLE_CAMERAS
    from anonflow.cli.synthetic import write_week

    last_day = min(s.start_time for s in SAMPLE_CAMERAS)[:10]
    week = write_week(output, DEMO_STORE, DEMO_TIME_ZONE, last_day, mean_people)
    if week is None:
        return []
    tables = week.root / "tables"
    # Synthetic days on fixed dates: the job checks event times against the end of the last one.
    processed = f"--processing_time={last_day}T23:59:59Z"
    result = run_job([f"--input={week.entries}", f"--output={tables}", f"--stores={week.stores}", processed])
    print(
        f"synthetic week ({week.root}, labelled synthetic): "
        f"{result.counters.get('entries_valid', 0)} entries, {result.counters.get('journeys', 0)} journeys"
    )
    _print_week(tables / "analytics.duckdb")
    return _report(tables / "analytics.duckdb", week.root / "report.html", week.stores)


WEEK_SQL = (
    "SELECT strftime(date, '%a %Y-%m-%d') AS local_day, visitors, unlinked, journeys, peak_occupancy "
    "FROM footfall WHERE granularity = '1d' AND zone_id = '*' ORDER BY date"
)


def _print_week(db: Path) -> None:
    """The synthetic store's people per day: what a running store's footfall looks like."""
    import duckdb

    from anonflow.cli.tabulate import render

    with duckdb.connect(str(db), read_only=True) as connection:
        cursor = connection.execute(WEEK_SQL)
        names = [d[0] for d in cursor.description or []]
        rows = cursor.fetchall()
    print(f"\nfootfall per store-local day (synthetic week, whole store), from {db}:")
    print(render(names, rows))
