"""The whole gateway on real video with the real models: entries and health land as NDJSON files, and a
camera that cannot be reached or whose analysis fails never stops the others."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from anonflow.contract import Entry
from anonflow.edge.runtime.batch import unpack
from anonflow.edge.runtime.config import CameraConfig, GatewayConfig
from anonflow.edge.runtime.gateway import ChainOutput, FrameProcessor, Gateway, model_chains
from anonflow.edge.runtime.health import HEALTH_SCHEMA
from tests.kit.broker import free_port

CAMERA_METRICS = set(
    [
        "camera_id",
        "connected",
        "finished",
        "fps",
        "lag_ms",
        "frames_read",
        "frames_processed",
        "frames_dropped",
        "entries",
        "open_failures",
        "stream_losses",
        "processing_errors",
        "crops_face_dropped",
        "last_error",
    ]
)
TRANSPORT_METRICS = set(
    [
        "kind",
        "connected",
        "last_error",
        "connect_failures",
        "certificate_expires_in_s",
        "published_messages",
        "published_entries",
        "publish_failures",
        "last_ack_age_s",
    ]
)
SPOOL_METRICS = {"depth", "bytes", "oldest_age_s", "evicted_total", "dropped_total"}
# The numbers the cloud's health topic rule copies to CloudWatch (anonflow/metrics.py names them).
ALARM_FIELDS = {"spool_depth", "spool_age_s", "evicted_entries", "cameras_down"}


class FailsEveryOtherFrame:
    """The real chain, made to raise on every second frame (a bug or a corrupt frame, say)."""

    def __init__(self, chain: FrameProcessor) -> None:
        self._chain = chain
        self._frames = 0

    def process(self, frame: npt.NDArray[np.uint8], event_time_ms: int) -> ChainOutput:
        self._frames += 1
        if self._frames % 2 == 0:
            raise ValueError("corrupt frame")
        return self._chain.process(frame, event_time_ms)


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def wait_for(condition: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def gateway_run(tmp_path_factory: pytest.TempPathFactory, video_dir: Path, model_dir: Path) -> Any:
    """One run shared by the tests below: two file cameras (one failing every other frame) and one
    unreachable stream, until both files have ended and every entry is written."""
    tmp_path = tmp_path_factory.mktemp("gateway")
    aisle = str(video_dir / "store-aisle-detection.gif")
    config = GatewayConfig(
        store_id="store1",
        gateway_id="gw1",
        model_dir=model_dir,
        cameras=[
            CameraConfig(id="aisle", source=aisle, fps=5),
            CameraConfig(id="shelf", source=aisle, fps=5),
            CameraConfig(
                id="door",
                source=f"rtsp://cam:pw@127.0.0.1:{free_port()}/live",
                reconnect_min_s=0.2,
                reconnect_max_s=0.5,
            ),
        ],
        transport={"kind": "local", "directory": tmp_path / "out", "roll_interval_s": 1},
        spool={"directory": tmp_path / "spool"},
        health={"interval_s": 0.5},
    )
    real = model_chains(config)

    def chains(camera: CameraConfig) -> FrameProcessor:
        chain = real(camera)
        return FailsEveryOtherFrame(chain) if camera.id == "shelf" else chain

    gateway = Gateway(config, chains=chains)
    records = Records()
    root = logging.getLogger()
    level = root.level
    root.addHandler(records)
    root.setLevel(logging.INFO)
    thread = threading.Thread(target=gateway.run, daemon=True)
    try:
        thread.start()
        assert gateway.wait_started(60)

        def files_done() -> bool:
            health = gateway.health()
            files = [c for c in health["cameras"] if c["camera_id"] != "door"]
            return all(c["finished"] for c in files) and health["spool"]["depth"] == 0

        finished = wait_for(files_done, timeout_s=60)
        time.sleep(0.6)  # one more health message
    finally:
        gateway.stop()
        thread.join(60)
        root.removeHandler(records)
        root.setLevel(level)
    assert finished and not thread.is_alive()
    return gateway, tmp_path / "out", records.records


def test_entries_reach_the_files_valid_and_from_the_right_cameras(gateway_run: Any) -> None:
    gateway, out, _ = gateway_run

    lines = [line for f in sorted(out.glob("entries-store1-gw1-*.ndjson")) for line in unpack(f.read_bytes())]
    entries = [Entry.model_validate_json(line) for line in lines]

    assert not list(out.glob("*.part")), "the last file is finished on stop"
    health = {c["camera_id"]: c for c in gateway.health()["cameras"]}
    assert {e.camera_id for e in entries} == {"aisle", "shelf"}
    assert len([e for e in entries if e.camera_id == "aisle"]) == health["aisle"]["entries"] > 0
    assert len({e.entry_id for e in entries}) == len(entries)
    for camera in ("aisle", "shelf"):
        times = [e.event_time_ms for e in entries if e.camera_id == camera]
        assert times == sorted(times), "each camera's entries are written in capture order"


def test_health_reports_every_metric_and_the_failing_cameras(gateway_run: Any) -> None:
    _, out, records = gateway_run

    files = sorted((out / "health").glob("*.ndjson"))
    messages = [json.loads(line) for f in files for line in unpack(f.read_bytes())]

    assert len(messages) >= 2
    last = messages[-1]
    assert last["schema"] == HEALTH_SCHEMA and last["store_id"] == "store1" and last["gateway_id"] == "gw1"
    cameras = {c["camera_id"]: c for c in last["cameras"]}
    assert all(set(c) == CAMERA_METRICS for c in cameras.values())
    assert set(last["spool"]) == SPOOL_METRICS
    assert all(isinstance(last[field], int | float) for field in ALARM_FIELDS)
    assert last["cameras_down"] == 1 and last["spool_depth"] == 0 and last["evicted_entries"] == 0
    assert set(last["transport"]) == TRANSPORT_METRICS

    door, aisle, shelf = cameras["door"], cameras["aisle"], cameras["shelf"]
    assert not door["connected"] and door["open_failures"] >= 2 and "camera door" in door["last_error"]
    assert aisle["frames_processed"] >= 5 and aisle["processing_errors"] == 0 and aisle["finished"]
    assert shelf["processing_errors"] >= 2 and shelf["frames_processed"] >= 2, "errors cost frames only"
    assert last["transport"]["published_entries"] == aisle["entries"] + shelf["entries"]

    text = [r.getMessage() for r in records]
    assert any(m.startswith("camera door: rtsp://127.0.0.1:") for m in text)
    assert any(m.startswith("camera shelf: frame analysis failed") for m in text)
    assert not any("pw@" in m for m in text)
