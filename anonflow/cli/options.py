"""Options and parsers shared by several subcommands."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from pathlib import Path

from anonflow.contract.errors import InputError

VIDEO_DIR_ENV = "ANONFLOW_VIDEO_DIR"


def add_model_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model-dir",
        metavar="DIR",
        help="directory holding the model files named in the manifest (default: $ANONFLOW_MODEL_DIR)",
    )


def parse_time_ms(text: str) -> int:
    """An ISO 8601 time (a naive time is taken as UTC) in milliseconds since the epoch."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"--start-time {text!r} is not an ISO 8601 time such as 2026-11-21T10:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def video_dir(explicit: str | None) -> Path:
    raw = explicit or os.environ.get(VIDEO_DIR_ENV)
    if not raw:
        raise InputError(f"no video directory: pass --video-dir or set {VIDEO_DIR_ENV}")
    path = Path(raw).expanduser()
    if not path.is_dir():
        raise InputError(f"video directory {path} does not exist or is not a directory")
    return path
