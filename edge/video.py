"""Video files through OpenCV, as an iterator of (frame, capture offset) with clear errors."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from anonflow.contract.errors import InputError

log = logging.getLogger(__name__)
# A file that fails this many reads in a row (before its announced end) is treated as ended.
_MAX_CONSECUTIVE_FAILURES = 25


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One decoded frame: uint8 BGR [H, W, 3], its index in the file and its offset from the start."""

    index: int
    offset_ms: int
    image: npt.NDArray[np.uint8]


class VideoFile:
    """Reads a video file frame by frame, optionally at a lower rate than recorded.

    Frames that fail to decode are skipped and counted in `corrupted`; frames skipped to honour `fps`
    are counted in `skipped`.
    """

    def __init__(self, path: str | Path, fps: float | None = None) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise InputError(f"video {self.path} does not exist")
        if self.path.is_dir():
            raise InputError(f"video {self.path} is a directory, not a video file")
        self._capture = cv2.VideoCapture(str(self.path))
        if not self._capture.isOpened():
            raise InputError(f"video {self.path} cannot be opened (not a video OpenCV can decode)")
        recorded = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.recorded_fps = recorded if 0.1 <= recorded <= 1000 else 10.0
        self.frame_count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.width = int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if fps is not None and fps <= 0:
            raise InputError(f"fps must be positive, got {fps}")
        self.stride = max(1, round(self.recorded_fps / fps)) if fps else 1
        self.corrupted = 0
        self.skipped = 0
        # Where reading stopped before the container's stated end (a truncated file), else None.
        self.stopped_at: int | None = None

    @property
    def frames_to_process(self) -> int:
        """How many frames iteration will yield, when the container says how long it is (else 0)."""
        return -(-self.frame_count // self.stride) if self.frame_count else 0

    def __iter__(self) -> Iterator[VideoFrame]:
        index, failures = 0, 0
        try:
            while True:
                if index % self.stride != 0:
                    grabbed = self._capture.grab()
                    if grabbed:
                        self.skipped += 1
                        index += 1
                        failures = 0
                        continue
                    ok, image = False, None
                else:
                    ok, image = self._capture.read()
                if ok and image is not None and image.ndim == 3 and image.shape[2] == 3:
                    failures = 0
                    yield VideoFrame(
                        index, round(index * 1000 / self.recorded_fps), image.astype(np.uint8, copy=False)
                    )
                    index += 1
                    continue
                if not self.frame_count or index >= self.frame_count:
                    return  # the end (a container that does not state its length ends at its first failure)
                failures += 1
                self.corrupted += 1
                index += 1
                if failures >= _MAX_CONSECUTIVE_FAILURES:
                    log.warning("%s: giving up after %d unreadable frames in a row", self.path, failures)
                    self.stopped_at = index
                    return
        finally:
            self._capture.release()
