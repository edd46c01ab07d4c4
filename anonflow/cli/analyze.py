"""`anonflow analyze VIDEO --entries OUT.ndjson`: anonymous entries from a video file.

Optional local outputs: `--csv` (one row per person per frame, no pixels), `--preview` (an audit video
with heads masked) and `--audit-dir` (sampled anonymous crops named by entry id). Without them nothing
but the entries file is written.
"""

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
    parser.add_argument(
        "--csv",
        type=Path,
        metavar="OUT.csv",
        help="also write one row per tracked person per analysed frame: frame, person_id (track id), "
        "x, y, w, h (crop box in pixels, shoulders down), age_min, age_max, gender (empty when unknown)",
    )
    parser.add_argument(
        "--preview",
        type=Path,
        metavar="OUT.mp4",
        help="also write an audit video (.mp4 or .avi) of the analysed frames with every detected "
        "person's head masked, skeletons, crop boxes and track ids drawn",
    )
    parser.add_argument(
        "--audit-dir",
        type=Path,
        metavar="DIR",
        help="also save sampled anonymous crops (what the attribute network read) as DIR/<entry_id>.jpg",
    )
    parser.add_argument(
        "--audit-every",
        type=int,
        default=10,
        metavar="N",
        help="with --audit-dir, save the crop of every N-th entry (default 10; 1 saves all)",
    )
    parser.add_argument("--no-progress", action="store_true", help="do not draw a progress bar")
    add_model_dir(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from anonflow.contract.settings import load_config, validate_config
    from anonflow.edge.analyze import FrameSink, analyze_video
    from anonflow.edge.audit import AuditCropWriter
    from anonflow.edge.chain import build_chain
    from anonflow.edge.config import CameraChainConfig
    from anonflow.edge.modelfiles.registry import model_dir
    from anonflow.edge.person_csv import PersonCsvWriter
    from anonflow.edge.preview import PreviewWriter
    from anonflow.edge.video import VideoFile

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
    sinks: list[FrameSink] = []
    if args.audit_dir is not None:
        sinks.append(AuditCropWriter(args.audit_dir, every=args.audit_every))
    if args.preview is not None:
        fps = video.recorded_fps / video.stride / config.detect_every
        sinks.append(PreviewWriter(args.preview, fps, config.gate.point_threshold))
    chain = build_chain(
        config,
        store_id=args.store_id,
        camera_id=camera_id,
        model_dir=model_dir(args.model_dir),
        threads=args.threads,
        keep_crops=args.audit_dir is not None,
    )
    if args.csv is not None:
        sinks.append(PersonCsvWriter(args.csv))  # last: it opens its file at once
    summary = analyze_video(
        video, chain, args.entries, start_time_ms=start_ms, sinks=sinks, progress=not args.no_progress
    )
    for line in summary.lines():
        print(line)
    print(f"written          {args.entries}")
    return 0


def _safe_id(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "_.-" else "-" for c in text).strip("-._")
    return (cleaned or "camera")[:64]


def _check_identifier(option: str, value: str) -> None:
    import re

    from anonflow.contract.entry import IDENTIFIER_PATTERN
    from anonflow.contract.errors import InputError

    if not re.fullmatch(IDENTIFIER_PATTERN, value):
        raise InputError(
            f"{option} {value!r} must be 1-64 letters, digits, '_', '.' or '-', starting alphanumeric"
        )
