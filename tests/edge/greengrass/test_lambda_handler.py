"""The pinned-Lambda packaging: invoking `handler` starts the same gateway once per container."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from anonflow.contract import Entry
from anonflow.edge.greengrass import lambda_handler
from anonflow.edge.runtime.batch import unpack
from anonflow.edge.runtime.transports import greengrass as ipc_transport


@pytest.fixture
def container(restore_logging: None) -> Iterator[None]:
    yield
    lambda_handler.stop()


def write_config(tmp_path: Path, video_dir: Path, **overrides: object) -> Path:
    settings = {
        "store_id": "store1",
        "gateway_id": "gw1",
        "cameras": [{"id": "aisle", "source": str(video_dir / "store-aisle-detection.gif"), "fps": 5}],
        "transport": {"kind": "local", "directory": str(tmp_path / "out")},
        "spool": {"directory": str(tmp_path / "spool")},
        **overrides,
    }
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def test_the_handler_starts_the_gateway_once_and_reports_health(
    tmp_path: Path, video_dir: Path, monkeypatch: pytest.MonkeyPatch, container: None
) -> None:
    monkeypatch.setenv(lambda_handler.CONFIG_ENV, str(write_config(tmp_path, video_dir)))

    first = lambda_handler.handler({}, None)
    second = lambda_handler.handler({"any": "event"}, None)

    assert first["status"] == "running"
    assert first["health"]["gateway_id"] == "gw1"
    assert second["health"]["uptime_s"] >= first["health"]["uptime_s"]
    assert lambda_handler.start() is lambda_handler.start(), "one gateway per container"
    # The file camera ends; the gateway delivers everything and stops by itself.
    deadline = time.monotonic() + 60
    while lambda_handler.handler({}, None)["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    final = lambda_handler.handler({}, None)
    assert final["status"] == "stopped" and final["health"]["spool"]["depth"] == 0
    lines = [x for f in sorted((tmp_path / "out").glob("entries-*.ndjson")) for x in unpack(f.read_bytes())]
    assert lines and all(Entry.model_validate_json(x).camera_id == "aisle" for x in lines)
    assert len(lines) == final["health"]["cameras"][0]["entries"]


def test_a_bad_configuration_answers_with_one_line(
    tmp_path: Path, video_dir: Path, monkeypatch: pytest.MonkeyPatch, container: None
) -> None:
    path = write_config(tmp_path, video_dir, health={"interval_s": -1})
    monkeypatch.setenv(lambda_handler.CONFIG_ENV, str(path))

    answer = lambda_handler.handler({}, None)

    assert answer == {
        "status": "error",
        "error": f"{path}: health.interval_s: Input should be greater than or equal to 0.2 (got -1)",
    }


def test_without_a_file_it_reads_its_own_entry_of_the_component_configuration(
    fake_nucleus: Any, monkeypatch: pytest.MonkeyPatch, container: None
) -> None:
    """No nucleus exists here: `fake_nucleus` stands in for the IPC client the handler connects."""
    monkeypatch.delenv(lambda_handler.CONFIG_ENV, raising=False)
    monkeypatch.setenv("AWS_IOT_THING_NAME", "store1-gw2")
    configured = {"gateways": {"store1-gw1": {"store_id": "store1", "cameras": [{"id": "a", "source": 0}]}}}
    monkeypatch.setattr(ipc_transport, "connect_ipc", lambda: fake_nucleus(configured))

    answer = lambda_handler.handler({}, None)

    assert answer == {
        "status": "error",
        "error": "component configuration /gateways: no entry for this gateway's thing name 'store1-gw2' "
        "(has: store1-gw1)",
    }
