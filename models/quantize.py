"""`anonflow models quantize`: the int8 OpenPose model made on a workstation from sample videos.

The quantisation itself (calibration method, formats, the sidecar) is the edge's own
(`anonflow.edge.modelfiles.quantize`), so a gateway that makes its model at first start and a workstation
make the same kind of file; this module only picks the calibration frames from video files.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from anonflow.edge.modelfiles.quantize import (
    INT8_MODEL,
    PERCENTILE,
    Calibration,
    Format,
    FrameFeed,
    make_int8,
    quantize_model,
)
from anonflow.edge.modelfiles.registry import model_dir as resolve_model_dir
from anonflow.edge.modelfiles.registry import spec
from anonflow.models.frames import sample_videos

__all__ = ["INT8_MODEL", "PERCENTILE", "FrameFeed", "quantize_model", "quantize_pose"]
log = logging.getLogger(__name__)


def quantize_pose(
    model_dir: Path | None,
    videos: Sequence[Path],
    frames: int,
    *,
    input_height: int = 256,
    fmt: Format = "qdq",
    output: Path | None = None,
    calibration: Calibration = "percentile",
) -> dict[str, Any]:
    """Make the int8 OpenPose model and its sidecar; returns what was done, for printing."""
    directory = resolve_model_dir(model_dir)
    sampled = sample_videos(videos, frames)
    started = time.perf_counter()
    sidecar = make_int8(
        directory,
        [f.image for f in sampled],
        made_by="anonflow models quantize",
        details={"calibration_videos": sorted({f.video for f in sampled})},
        input_height=input_height,
        fmt=fmt,
        calibration=calibration,
        output=output,
    )
    seconds = time.perf_counter() - started
    target = output if output is not None else directory / spec(INT8_MODEL, "pose").file
    log.info("quantised %s to %s in %.1f s", sidecar.parent_name, target, seconds)
    return {
        "model": sidecar.name,
        "output": str(target),
        "sha256": sidecar.sha256,
        "seconds": round(seconds, 1),
        **sidecar.details,
    }
