"""`anonflow analyze VIDEO --entries OUT.ndjson`: anonymous entries from a video file."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from anonflow.cli.options import add_model_dir, parse_time_ms


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="turn a video file into anonymous entries (NDJSON)",
        description="Read a video with OpenCV, find body key points, crop each person below the shoulders, "
        "read demographics from the anonymous crop, track people and write one entry per observation.",
    )
    parser.add_argument("video", type=Path, help="video file (anything OpenCV decodes: mp4, avi, gif, ...)")
    parser.add_argument(
        "--entries", type=Path, required=True, metavar="OUT.ndjson", help="entries file to write"
    )
    parser.add_argument("--store-id", default="store-1", help="store id written into every entry")
    parser.add_argument("--camera-id", default=None, help="camera id (default: the video's file name stem)")
    parser.add_argument(
        "--start-time",
        metavar="ISO8601",
        help="capture time of the first frame, e.g. 2026-11-21T10:00:00Z (default: now); "
        "makes event times, and so the tables, deterministic",
    )
    parser.add_argument(
        "--config", type=Path, metavar="CAMERA.yaml", help="camera chain settings (zones, lines, ...)"
    )
    parser.add_argument("--fps", type=float, help="process at most this many frames per second of video")
    parser.add_argument("--pose-model", help="manifest name of the pose model (overrides the config)")
    parser.add_argument(
        "--entry-interval", type=float, metavar="SECONDS", help="least time between two entries of one track"
    )
    parser.add_argument("--threads", type=int, default=2, help="inference threads (default 2)")
    parser.add_argument("--no-progress", action="store_true", help="do not draw a progress bar")
    add_model_dir(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from anonflow.configfile import load_config, validate_config
    from edge.analyze import analyze_video
    from edge.chain import build_chain
    from edge.config import CameraChainConfig
    from edge.video import VideoFile
    from models.registry import model_dir

    config = load_config(args.config, CameraChainConfig) if args.config else CameraChainConfig()
    overrides = {
        key: value
        for key, value in (("pose_model", args.pose_model), ("entry_interval_s", args.entry_interval))
        if value is not None
    }
    if overrides:
        config = validate_config({**config.model_dump(), **overrides}, CameraChainConfig, "options")
    camera_id = args.camera_id or _safe_id(args.video.stem)
    _check_identifier("--store-id", args.store_id)
    _check_identifier("--camera-id", camera_id)
    video = VideoFile(args.video, fps=args.fps)
    start_ms = parse_time_ms(args.start_time) if args.start_time else int(time.time() * 1000)
    chain = build_chain(
        config,
        store_id=args.store_id,
        camera_id=camera_id,
        model_dir=model_dir(args.model_dir),
        threads=args.threads,
    )
    summary = analyze_video(video, chain, args.entries, start_time_ms=start_ms, progress=not args.no_progress)
    for line in summary.lines():
        print(line)
    print(f"written          {args.entries}")
    return 0


def _safe_id(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "_.-" else "-" for c in text).strip("-._")
    return (cleaned or "camera")[:64]


def _check_identifier(option: str, value: str) -> None:
    import re

    from anonflow.errors import InputError

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", value):
        raise InputError(
            f"{option} {value!r} must be 1-64 letters, digits, '_', '.' or '-', starting alphanumeric"
        )
