"""`anonflow report --db DIR/analytics.duckdb --out report.html`: one self-contained HTML page of plots."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from anonflow.contract.errors import InputError


def _background(text: str) -> tuple[str, Path]:
    camera, sep, path = text.partition("=")
    if not sep or not camera or not path:
        raise argparse.ArgumentTypeError(f"expected CAMERA=IMAGE, got {text!r}")
    return camera, Path(path)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write an HTML report of the tables (plots, no external files)",
        description="Write one self-contained HTML page with plots of the analysts' tables: visitors per "
        "hour, dwell, demographics, flows between zones and per-camera heatmaps.",
    )
    parser.add_argument("--db", type=Path, required=True, help="DuckDB file written by `anonflow pipeline`")
    parser.add_argument("--out", type=Path, required=True, help="HTML file to write")
    parser.add_argument("--store", help="store to report on (required when the file holds several)")
    parser.add_argument("--date", type=date.fromisoformat, help="only this local date (YYYY-MM-DD)")
    parser.add_argument("--time-zone", default="UTC", help="IANA zone for the hour axis (default UTC)")
    parser.add_argument(
        "--background",
        type=_background,
        action="append",
        default=[],
        metavar="CAMERA=IMAGE",
        help="a head-masked frame (PNG/JPEG) of CAMERA to draw its heatmap on; repeat per camera",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from anonflow.dataflow.report.html import write_report

    try:
        ZoneInfo(args.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown time zone {args.time_zone!r} (for example Europe/Berlin)") from None
    backgrounds = dict(args.background)
    for camera, path in backgrounds.items():
        if not path.is_file():
            raise InputError(f"background image for {camera} does not exist: {path}")
    report = write_report(
        args.db,
        args.out,
        store_id=args.store,
        day=args.date,
        time_zone=args.time_zone,
        backgrounds=backgrounds,
    )
    print(f"wrote {report.path} ({report.figures} figures, store {report.store_id})")
    return 0
