"""`anonflow demo`: the main job end to end on the sample videos, then the footfall table."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from anonflow.cli.options import add_model_dir

FOOTFALL_SQL = (
    "SELECT zone_id, granularity, strftime(window_start, '%Y-%m-%d %H:%M') AS start_utc, "
    "strftime(window_end, '%Y-%m-%d %H:%M') AS end_utc, visitors, peak_occupancy, suppressed "
    "FROM footfall WHERE granularity IN ('1h', '1d') "
    "ORDER BY CASE granularity WHEN '5m' THEN 0 WHEN '1h' THEN 1 ELSE 2 END, window_start, zone_id"
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="the main job on the sample videos: analyze -> pipeline -> footfall table",
        description="Analyze every sample video as one camera of a demo store, run the Beam job over the "
        "entries, and print the footfall table. Everything is written under --output.",
    )
    parser.add_argument(
        "--output", type=Path, default=Path("demo-out"), help="output directory (default demo-out)"
    )
    parser.add_argument("--video-dir", help="sample videos (default: $ANONFLOW_VIDEO_DIR)")
    parser.add_argument(
        "--fps", type=float, default=5.0, help="frames per second analysed per video (default 5)"
    )
    parser.add_argument("--threads", type=int, default=2, help="inference threads (default 2)")
    add_model_dir(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from anonflow.cli.options import parse_time_ms, video_dir
    from anonflow.cli.samples import DEMO_STORE, SAMPLE_CAMERAS
    from anonflow.cli.tabulate import render
    from anonflow.contract.errors import InputError
    from anonflow.edge.analyze import analyze_video
    from anonflow.edge.chain import build_chain
    from anonflow.edge.config import CameraChainConfig, ZoneConfig
    from anonflow.edge.modelfiles.registry import model_dir
    from anonflow.edge.video import VideoFile

    videos = video_dir(args.video_dir)
    models = model_dir(args.model_dir)
    entries_dir = args.output / "entries"
    entries_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for sample in SAMPLE_CAMERAS:
        path = videos / sample.file
        if not path.is_file():
            raise InputError(f"sample video {path} is missing; point --video-dir at the sample videos")
        whole_view = ZoneConfig(id=sample.zone_id, polygon=[(0, 0), (1, 0), (1, 1), (0, 1)])
        config = CameraChainConfig(zones=[whole_view])
        chain = build_chain(
            config, store_id=DEMO_STORE, camera_id=sample.camera_id, model_dir=models, threads=args.threads
        )
        video = VideoFile(path, fps=args.fps)
        summary = analyze_video(
            video,
            chain,
            entries_dir / f"{sample.camera_id}.ndjson",
            start_time_ms=parse_time_ms(sample.start_time),
        )
        ms = sum(summary.frame_ms) / max(len(summary.frame_ms), 1)
        print(
            f"{sample.camera_id:>13}: {summary.frames:4d} frames, {summary.people_detected:4d} people, "
            f"{summary.tracks:3d} tracks, {summary.entries:4d} entries, {ms:5.1f} ms/frame"
        )

    import duckdb

    from anonflow.dataflow.pipeline import run as run_job

    tables = args.output / "tables"
    result = run_job([f"--input={entries_dir}", f"--output={tables}"])
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
    print(f"\ndone in {time.perf_counter() - started:.0f} s")
    print(f'try: anonflow query --db {db} "SELECT * FROM footfall"')
    return 0
