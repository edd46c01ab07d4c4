"""The Greengrass component: its process reads the component configuration over IPC and publishes
through the nucleus. No nucleus exists here, so `fake_nucleus` stands in for the IPC client; the
gateway behind it is the real one (real models, a real video)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from anonflow.contract import Entry
from edge.greengrass import main as component
from edge.greengrass.settings import gateway_settings
from edge.runtime.batch import CONTENT_TYPE, unpack
from edge.runtime.config import GreengrassTransportConfig
from edge.runtime.transports import greengrass as ipc_transport


def configuration(tmp_path: Path, video_dir: Path, **overrides: Any) -> dict[str, Any]:
    gateway = {
        "store_id": "store1",
        "cameras": [{"id": "aisle", "source": str(video_dir / "store-aisle-detection.gif"), "fps": 5}],
        "spool": {"directory": str(tmp_path / "spool")},
        "health": {"interval_s": 0.5},
        **overrides,
    }
    return {"gateway": gateway}


def test_settings_default_to_the_thing_name_and_the_nucleus(
    tmp_path: Path, video_dir: Path, fake_nucleus: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_IOT_THING_NAME", "store1-gw7")

    config = gateway_settings(None, ipc=fake_nucleus(configuration(tmp_path, video_dir)))

    assert config.gateway_id == "store1-gw7"
    assert isinstance(config.transport, GreengrassTransportConfig)


@pytest.mark.parametrize(
    ("gateway", "expected"),
    [
        ({"store_id": "store1"}, "component configuration /gateway: cameras: required key missing"),
        (
            "not an object",
            "component configuration /gateway: expected an object of gateway settings, got str",
        ),
        (
            {"store_id": "s", "cameras": [], "colour": 1},
            "component configuration /gateway: cameras: List should",
        ),
    ],
)
def test_a_bad_component_configuration_is_one_line_and_exit_2(
    fake_nucleus: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    gateway: Any,
    expected: str,
    restore_logging: None,
) -> None:
    monkeypatch.setenv("AWS_IOT_THING_NAME", "gw1")
    monkeypatch.setattr(ipc_transport, "connect_ipc", lambda: fake_nucleus({"gateway": gateway}))

    code = component.main([])

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("anonflow greengrass component: error: ")
    assert expected in err[0]


def test_the_component_publishes_entries_and_health_through_the_nucleus(
    tmp_path: Path, video_dir: Path, fake_nucleus: Any, monkeypatch: pytest.MonkeyPatch, restore_logging: None
) -> None:
    nucleus = fake_nucleus(configuration(tmp_path, video_dir))
    monkeypatch.setenv("AWS_IOT_THING_NAME", "store1-gw7")
    monkeypatch.setattr(ipc_transport, "connect_ipc", lambda: nucleus)

    code = component.main([])  # the file camera ends, everything is delivered, the process exits

    assert code == 0
    entries = [r for r in nucleus.requests if r["topic"] == "anonflow/v1/store1/aisle/entries"]
    health = [r for r in nucleus.requests if r["topic"] == "anonflow/v1/store1/store1-gw7/health"]
    assert len(entries) + len(health) == len(nucleus.requests), "no other topic"
    assert entries and health
    assert {r["qos"] for r in nucleus.requests} == {"1"}
    assert {r["content_type"] for r in nucleus.requests} == {CONTENT_TYPE}
    parsed = [Entry.model_validate_json(line) for r in entries for line in unpack(r["payload"])]
    assert {(e.store_id, e.camera_id) for e in parsed} == {("store1", "aisle")}
    report = json.loads(health[-1]["payload"])
    assert report["gateway_id"] == "store1-gw7" and report["transport"]["kind"] == "greengrass"
    assert nucleus.closed
