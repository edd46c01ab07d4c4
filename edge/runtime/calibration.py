"""Calibration frames for the gateway's own int8 pose model: a few frames from each of its cameras."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from anonflow.edge.runtime.camera import CameraError, Opener
from anonflow.edge.runtime.config import CameraConfig

log = logging.getLogger(__name__)

FRAMES: int = 24
"""Calibration frames in all, shared between the cameras (as `anonflow models quantize` takes by default)."""
SPACING: int = 10
"""Frames read between two kept ones, so the kept frames show different moments."""


def camera_frames(
    cameras: Sequence[CameraConfig], opener: Opener, total: int = FRAMES, spacing: int = SPACING
) -> list[npt.NDArray[np.uint8]]:
    """Up to `total` BGR uint8 [H, W, 3] frames, shared evenly between `cameras`; a camera that cannot be
    opened or read is logged and skipped. The frames are used for calibration only, then dropped."""
    share = max(1, total // max(len(cameras), 1))
    frames: list[npt.NDArray[np.uint8]] = []
    for camera in cameras:
        try:
            capture = opener(camera.source)
        except CameraError as error:
            log.warning(
                "calibration: camera %s: %s; skipped",
                camera.id,
                error,
                extra={"event": "calibration_camera_skipped", "camera_id": camera.id},
            )
            continue
        try:
            kept = 0
            for index in range(share * spacing):
                ok, image = capture.read()
                if not ok or image is None:
                    break
                if index % spacing == 0:
                    frames.append(np.asarray(image, np.uint8))
                    kept += 1
        finally:
            capture.release()
        if kept == 0:
            log.warning(
                "calibration: camera %s gave no frame; skipped",
                camera.id,
                extra={"event": "calibration_camera_skipped", "camera_id": camera.id},
            )
    return frames
