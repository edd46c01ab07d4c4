"""Camera sources: a grabber thread per camera that keeps only the newest frame.

The grabber reads as fast as the camera delivers, offers one frame per target-FPS period, and
replaces an offered frame the analysis has not taken yet (counted as dropped: the analysis is behind).
A lost or unreachable stream is reopened with jittered exponential backoff, logged and reported in
health; it never blocks another camera. Files play at their own frame rate, like a live camera.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from anonflow.edge.runtime.backoff import Backoff
from anonflow.edge.runtime.config import is_stream_url

log = logging.getLogger(__name__)

_OPEN_TIMEOUT_MS = 10_000
_READ_TIMEOUT_MS = 10_000


class CameraError(Exception):
    """A camera cannot be opened (the message says which and why)."""


class Capture(Protocol):
    """The part of `cv2.VideoCapture` a source uses."""

    def read(self) -> tuple[bool, Any]:
        """(ok, BGR uint8 [H, W, 3] image or None)."""
        ...

    def get(self, prop_id: int) -> float: ...

    def release(self) -> None: ...


Opener = Callable[[str | int], Capture]


def open_capture(source: str | int) -> Capture:
    """Open a stream URL (FFmpeg, with open/read timeouts), a file, or a device index with OpenCV."""
    import cv2

    # OpenCV and FFmpeg print each failed open to stderr; the source logs one structured line instead.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    if is_stream_url(source):
        capture = cv2.VideoCapture(
            str(source),
            cv2.CAP_FFMPEG,
            [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                _OPEN_TIMEOUT_MS,
                cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                _READ_TIMEOUT_MS,
            ],
        )
    else:
        capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        capture.release()
        raise CameraError("cannot open (unreachable, refused, or not a video)")
    opened: Capture = capture
    return opened


@dataclass(frozen=True, slots=True)
class Frame:
    """One captured frame. image: uint8 [H, W, 3] BGR; capture_ms: UTC capture time in ms."""

    image: npt.NDArray[np.uint8]
    capture_ms: int


@dataclass(frozen=True, slots=True)
class SourceStats:
    """Counters of one source since start.

    connected: a stream is open now; frames_read: frames decoded; frames_dropped: offered frames
    replaced before the analysis took them; open_failures: failed open attempts; stream_losses: open
    streams that stopped delivering; finished: a file source reached its end (and does not loop).
    """

    connected: bool
    frames_read: int
    frames_dropped: int
    open_failures: int
    stream_losses: int
    last_error: str | None
    finished: bool


class CameraSource:
    """Runs one camera's grabber thread; `latest` hands the analysis the newest unseen frame."""

    def __init__(
        self,
        camera_id: str,
        source: str | int,
        *,
        fps: float,
        loop: bool = False,
        backoff: Backoff | None = None,
        opener: Opener = open_capture,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.camera_id = camera_id
        self.source = source
        self.period_s = 1.0 / fps
        self.loop = loop
        self.is_file = isinstance(source, str) and not is_stream_url(source)
        self._backoff = backoff or Backoff(1.0, 60.0)
        self._opener = opener
        self._clock = clock
        self._stop = threading.Event()
        self._offered = threading.Condition()
        self._slot: Frame | None = None
        self._thread = threading.Thread(target=self._run, name=f"camera-{camera_id}", daemon=True)
        self._connected = False
        self._frames_read = 0
        self._dropped = 0
        self._open_failures = 0
        self._losses = 0
        self._last_error: str | None = None
        self._finished = False

    @property
    def label(self) -> str:
        """The source as it may be logged: a URL without its credentials."""
        if is_stream_url(self.source):
            scheme, rest = str(self.source).split("://", 1)
            return f"{scheme}://{rest.rsplit('@', 1)[-1]}"
        return str(self.source)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._offered:
            self._offered.notify_all()

    def join(self, timeout_s: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def latest(self, timeout_s: float) -> Frame | None:
        """Take the newest offered frame, waiting up to `timeout_s`; None if none came (or finished)."""
        with self._offered:
            if self._slot is None and not (self._finished or self._stop.is_set()):
                self._offered.wait(timeout_s)
            frame, self._slot = self._slot, None
        return frame

    def stats(self) -> SourceStats:
        with self._offered:
            return SourceStats(
                connected=self._connected,
                frames_read=self._frames_read,
                frames_dropped=self._dropped,
                open_failures=self._open_failures,
                stream_losses=self._losses,
                last_error=self._last_error,
                finished=self._finished and self._slot is None,
            )

    # -- grabber thread ------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._read_until_finished()
                return
            except Exception as error:
                # The thread boundary: a decoder or driver error must cost a reconnect, not the camera.
                delay = self._backoff.next_delay()
                with self._offered:
                    self._losses += 1
                    self._connected = False
                    self._last_error = f"camera {self.camera_id}: {self.label}: {type(error).__name__}"
                log.exception(
                    "camera %s: reading %s failed; reopening in %.1f s",
                    self.camera_id,
                    self.label,
                    delay,
                    extra={"event": "camera_failed", "camera_id": self.camera_id},
                )
                self._stop.wait(delay)

    def _read_until_finished(self) -> None:
        """Open, read, reopen until stopped or (a file without `loop`) finished."""
        while not self._stop.is_set():
            capture = self._open()
            if capture is None:
                continue
            try:
                ended, frames = self._grab(capture)
            finally:
                capture.release()
                self._set(connected=False)
            if ended and self.is_file and frames == 0:
                # A file that opens but yields nothing would otherwise be reopened in a tight loop.
                self._stop.wait(self._backoff.next_delay())
            if ended and self.is_file and not self.loop:
                with self._offered:
                    self._finished = True
                    self._offered.notify_all()
                log.info(
                    "camera %s: end of %s", self.camera_id, self.label, extra={"event": "camera_finished"}
                )
                return

    def _open(self) -> Capture | None:
        try:
            capture = self._opener(self.source)
        except CameraError as error:
            delay = self._backoff.next_delay()
            message = f"camera {self.camera_id}: {self.label}: {error}"
            with self._offered:
                self._open_failures += 1
                self._last_error = message
                failures = self._open_failures
            log.warning(
                "%s; retrying in %.1f s (attempt %d)",
                message,
                delay,
                failures,
                extra={"event": "camera_unreachable", "camera_id": self.camera_id, "attempt": failures},
            )
            self._stop.wait(delay)
            return None
        if self._open_failures or self._losses:
            log.info("camera %s: reconnected to %s", self.camera_id, self.label, extra={"event": "camera_up"})
        self._backoff.reset()
        self._set(connected=True)
        with self._offered:
            self._last_error = None
        return capture

    def _grab(self, capture: Capture) -> tuple[bool, int]:
        """Read until the stream ends (True) or stop is asked (False), with the count of frames read.

        Frames are offered at the target FPS; the others are read and let go.
        """
        native_fps = capture.get(5) if self.is_file else 0.0  # 5 == cv2.CAP_PROP_FPS
        file_period = 1.0 / native_fps if native_fps and math.isfinite(native_fps) and native_fps > 0 else 0.0
        next_offer = time.monotonic()
        next_read = time.monotonic()
        frames = 0
        while not self._stop.is_set():
            ok, image = capture.read()
            if not ok or image is None:
                if not self.is_file:
                    self._lost()
                return True, frames
            frames += 1
            now = time.monotonic()
            with self._offered:
                self._frames_read += 1
            if now >= next_offer:
                # Keep the schedule, but never bank more than one period after a stall.
                next_offer = max(next_offer + self.period_s, now)
                self._offer(Frame(image=image, capture_ms=int(self._clock() * 1000)))
            if file_period:
                # Pace a file like a live camera, so skipping and dropping behave as they would live.
                next_read = max(next_read + file_period, now - file_period)
                self._stop.wait(max(next_read - time.monotonic(), 0.0))
        return False, frames

    def _offer(self, frame: Frame) -> None:
        with self._offered:
            if self._slot is not None:
                self._dropped += 1
            self._slot = frame
            self._offered.notify_all()

    def _lost(self) -> None:
        delay = self._backoff.next_delay()
        message = f"camera {self.camera_id}: stream {self.label} stopped delivering frames"
        with self._offered:
            self._losses += 1
            self._last_error = message
        log.warning(
            "%s; reconnecting in %.1f s",
            message,
            delay,
            extra={"event": "camera_lost", "camera_id": self.camera_id},
        )
        self._stop.wait(delay)

    def _set(self, *, connected: bool) -> None:
        with self._offered:
            self._connected = connected
