"""Camera sources on real video: target FPS, newest frame wins, drops counted, reconnects with backoff."""

from __future__ import annotations

import itertools
import logging
import time
from pathlib import Path
from typing import Any

import cv2
import pytest

from anonflow.edge.runtime.backoff import Backoff
from anonflow.edge.runtime.camera import CameraSource, Capture, open_capture
from tests.kit.broker import free_port


def collect(source: CameraSource, seconds: float, pause_s: float = 0.0) -> list[Any]:
    frames = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        frame = source.latest(0.2)
        if frame is not None:
            frames.append(frame)
            time.sleep(pause_s)
    return frames


@pytest.fixture
def short_clip(tmp_path: Path, video_dir: Path) -> Path:
    """Six real frames of the walkway video written as a 30 fps clip (0.2 s), so it ends quickly."""
    capture = cv2.VideoCapture(str(video_dir / "vtest-480x360.avi"))
    path = tmp_path / "short.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (480, 360))
    for _ in range(6):
        ok, frame = capture.read()
        assert ok
        writer.write(frame)
    writer.release()
    capture.release()
    return path


def test_a_file_plays_at_its_own_rate_and_is_offered_at_the_target_fps(video_dir: Path) -> None:
    source = CameraSource("cam1", str(video_dir / "vtest-480x360.avi"), fps=5.0)  # the file runs at 10 fps
    source.start()
    frames = collect(source, 1.6)
    source.stop()
    source.join(2)
    stats = source.stats()

    assert 8 <= stats.frames_read <= 20, "paced at about 10 fps, not as fast as decoding allows"
    assert 4 <= len(frames) <= 10, "about every second frame is offered"
    assert stats.frames_dropped == 0, "a prompt consumer loses nothing"
    assert frames[0].image.shape == (360, 480, 3) and frames[0].image.dtype.name == "uint8"
    assert abs(frames[-1].capture_ms - time.time() * 1000) < 2_000
    assert [f.capture_ms for f in frames] == sorted(f.capture_ms for f in frames)


def test_a_slow_consumer_gets_the_newest_frame_and_the_skipped_ones_are_counted(video_dir: Path) -> None:
    source = CameraSource("cam1", str(video_dir / "vtest-480x360.avi"), fps=10.0)
    source.start()
    frames = collect(source, 1.6, pause_s=0.4)
    source.stop()
    source.join(2)
    stats = source.stats()

    assert stats.frames_dropped >= 5
    # Each taken frame is fresh: never older than one consumer pause plus a frame period.
    for frame in frames[1:]:
        assert frame.capture_ms >= frames[0].capture_ms
    assert stats.frames_read >= len(frames) + stats.frames_dropped


def test_an_unreachable_stream_is_logged_retried_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    url = f"rtsp://admin:secret@127.0.0.1:{free_port()}/live"
    source = CameraSource("door", url, fps=5.0, backoff=Backoff(0.05, 0.2))

    with caplog.at_level(logging.WARNING, logger="anonflow.edge.runtime.camera"):
        source.start()
        assert source.latest(1.0) is None
        source.stop()
        source.join(2)
    stats = source.stats()

    assert not stats.connected and stats.open_failures >= 3
    assert "door" in (stats.last_error or "")
    lines = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("camera door: rtsp://127.0.0.1:") and "retrying in" in m for m in lines), lines
    assert not any("secret" in m for m in lines), "credentials never reach the log"


class DroppingStream:
    """A live stream that dies after `frames` frames: real decoded frames from a video file."""

    def __init__(self, path: Path, frames: int) -> None:
        self._capture = cv2.VideoCapture(str(path))
        self._left = frames

    def read(self) -> tuple[bool, Any]:
        self._left -= 1
        if self._left < 0:
            return False, None
        time.sleep(0.02)
        return self._capture.read()

    def get(self, prop_id: int) -> float:
        return float(self._capture.get(prop_id))

    def release(self) -> None:
        self._capture.release()


def test_a_dropped_stream_is_reopened_with_backoff(video_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    opened: list[float] = []

    def opener(_source: str | int) -> Capture:
        opened.append(time.monotonic())
        return DroppingStream(video_dir / "vtest-480x360.avi", frames=5)

    source = CameraSource("aisle", "rtsp://10.0.0.7/live", fps=30.0, backoff=Backoff(0.1, 0.4), opener=opener)
    with caplog.at_level(logging.INFO, logger="anonflow.edge.runtime.camera"):
        source.start()
        frames = collect(source, 1.5)
        source.stop()
        source.join(2)
    stats = source.stats()

    assert stats.stream_losses >= 2 and len(opened) >= 3
    assert len(frames) >= 10, "frames keep coming after each reconnect"
    gaps = [b - a for a, b in itertools.pairwise(opened)]
    assert all(gap >= 0.05 for gap in gaps), "a reopen waits for the backoff"
    messages = [r.getMessage() for r in caplog.records]
    assert any("stream rtsp://10.0.0.7/live stopped delivering frames" in m for m in messages)
    assert any("camera aisle: reconnected" in m for m in messages)


class BrokenDecoder(DroppingStream):
    """A stream whose decoder raises (as cv2.error does on a corrupt stream) after `frames` frames."""

    def read(self) -> tuple[bool, Any]:
        if self._left <= 0:
            raise cv2.error("corrupt packet")
        return super().read()


def test_a_decoder_error_costs_a_reconnect_not_the_camera(
    video_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    streams = iter([BrokenDecoder(video_dir / "vtest-480x360.avi", frames=3)])

    def opener(_source: str | int) -> Capture:
        return next(streams, None) or DroppingStream(video_dir / "vtest-480x360.avi", frames=1_000)

    source = CameraSource(
        "aisle", "rtsp://10.0.0.7/live", fps=30.0, backoff=Backoff(0.05, 0.1), opener=opener
    )
    with caplog.at_level(logging.ERROR, logger="anonflow.edge.runtime.camera"):
        source.start()
        frames = collect(source, 1.0)
        source.stop()
        source.join(2)

    assert source.stats().stream_losses == 1
    assert len(frames) >= 10, "frames come again after the reopen"
    assert any("camera aisle: reading rtsp://10.0.0.7/live failed" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("loop", "finished"), [(False, True), (True, False)])
def test_a_file_ends_or_loops(short_clip: Path, loop: bool, finished: bool) -> None:
    source = CameraSource("cam1", str(short_clip), fps=30.0, loop=loop)
    source.start()
    frames = collect(source, 0.8)
    source.stop()
    source.join(2)
    stats = source.stats()

    assert stats.finished is finished
    assert (stats.frames_read > 6) is loop
    assert len(frames) >= 3


def test_open_capture_refuses_what_is_not_a_video(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video")
    from anonflow.edge.runtime.camera import CameraError

    with pytest.raises(CameraError, match="cannot open"):
        open_capture(str(junk))
