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
        description="Write one self-contained HTML page of the analysts' tables in the store's local time: "
        "the day at a glance, people over time, visit length, demographics, flows between zones and "
        "per-camera heatmaps.",
    )
    parser.add_argument("--db", type=Path, required=True, help="DuckDB file written by `anonflow pipeline`")
    parser.add_argument("--out", type=Path, required=True, help="HTML file to write")
    parser.add_argument("--store", help="store to report on (required when the file holds several)")
    parser.add_argument("--date", type=date.fromisoformat, help="only this local date (YYYY-MM-DD)")
    parser.add_argument(
        "--time-zone",
        help="IANA zone to show times in (default: the store's own zone, from --stores or read from the "
        "tables' day windows)",
    )
    parser.add_argument(
        "--stores", type=Path, help="the stores file the job ran with: each store's IANA time zone"
    )
    parser.add_argument(
        "--background",
        type=_background,
        action="append",
        default=[],
        metavar="CAMERA=IMAGE",
        help="a person-free background plate (PNG/JPEG) of CAMERA to draw its heatmap on; repeat per camera",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from anonflow.dataflow.report.html import write_report

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
        stores=args.stores,
        backgrounds=backgrounds,
    )
    empty = f", {report.empty} empty with a reason" if report.empty else ""
    print(f"wrote {report.path} ({report.figures} figures{empty}, store {report.store_id})")
    return 0
