"""The Greengrass component: its process reads the component configuration over IPC (a plain `gateway`
object, or its own entry of a thing group's `gateways` map) and publishes through the nucleus. No
nucleus exists here, so `fake_nucleus` stands in for the IPC client; the gateway behind it is the real
one (real models, a real video)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from anonflow.contract import Entry
from anonflow.edge.greengrass import main as component
from anonflow.edge.greengrass.settings import gateway_settings
from anonflow.edge.runtime.batch import CONTENT_TYPE, unpack
from anonflow.edge.runtime.config import GreengrassTransportConfig
from anonflow.edge.runtime.transports import greengrass as ipc_transport


def configuration(tmp_path: Path, video_dir: Path, **overrides: Any) -> dict[str, Any]:
    gateway = {
        "store_id": "store1",
        "cameras": [{"id": "aisle", "source": str(video_dir / "store-aisle-detection.gif"), "fps": 5}],
        "spool": {"directory": str(tmp_path / "spool")},
        "health": {"interval_s": 0.5},
        **overrides,
    }
    return {"gateway": gateway}


def group_configuration(tmp_path: Path, video_dir: Path) -> dict[str, Any]:
    """As a thing group deployment leaves it: shared settings under `gateway` (over the recipe's
    defaults), every gateway's own store and cameras under `gateways`."""
    own = configuration(tmp_path, video_dir)["gateway"]
    return {
        "gateway": {"spool": {"directory": "spool", "max_bytes": 1_000_000}, "health": own["health"]},
        "gateways": {
            "store1-gw7": {
                "store_id": own["store_id"],
                "cameras": own["cameras"],
                "spool": {"directory": own["spool"]["directory"]},
            },
            "store2-gw1": {"store_id": "store2", "cameras": [{"id": "door", "source": "rtsp://10.0.0.9/s"}]},
        },
    }


@pytest.mark.parametrize("shape", [configuration, group_configuration], ids=["gateway", "gateways"])
def test_settings_default_to_the_thing_name_and_the_nucleus(
    tmp_path: Path, video_dir: Path, fake_nucleus: Any, monkeypatch: pytest.MonkeyPatch, shape: Any
) -> None:
    monkeypatch.setenv("AWS_IOT_THING_NAME", "store1-gw7")

    config = gateway_settings(None, ipc=fake_nucleus(shape(tmp_path, video_dir)))

    assert config.gateway_id == "store1-gw7"
    assert isinstance(config.transport, GreengrassTransportConfig)
    assert config.store_id == "store1"
    assert [c.id for c in config.cameras] == ["aisle"]
    assert config.spool.directory == tmp_path / "spool"


def test_a_gateways_entry_is_laid_over_the_shared_settings_as_greengrass_merges(
    tmp_path: Path, video_dir: Path, fake_nucleus: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_IOT_THING_NAME", "store2-gw1")

    config = gateway_settings(None, ipc=fake_nucleus(group_configuration(tmp_path, video_dir)))

    assert (config.store_id, config.gateway_id) == ("store2", "store2-gw1")
    assert [c.id for c in config.cameras] == ["door"], "lists are replaced, never extended"
    assert config.spool.max_bytes == 1_000_000, "objects merge key by key: the shared spool size stays"
    assert config.health.interval_s == 0.5


GROUP = {"gateway": {"log_level": "debug"}, "gateways": {"gw1": {"store_id": "s", "cameras": []}, "gw2": {}}}


@pytest.mark.parametrize(
    ("configured", "thing", "expected"),
    [
        (
            GROUP,
            "gw9",
            "component configuration /gateways: no entry for this gateway's thing name 'gw9' (has: gw1, gw2)",
        ),
        (
            {"gateways": {f"gw{i}": {} for i in range(7)}},
            "gw9",
            "no entry for this gateway's thing name 'gw9' (has: gw0, gw1, gw2, gw3, gw4, ... (7 in all))",
        ),
        (GROUP, None, "component configuration /gateways: cannot pick this gateway's entry: "),
        (
            {"gateways": ["gw1"]},
            "gw1",
            "component configuration /gateways: expected an object of thing name -> gateway settings, "
            "got list",
        ),
        (
            {"gateways": {"gw1": "store1"}},
            "gw1",
            "component configuration /gateways/gw1: expected an object of gateway settings, got str",
        ),
        (GROUP, "gw1", "component configuration /gateways/gw1: cameras: List should"),
        (GROUP, "gw2", "component configuration /gateways/gw2: store_id: required key missing"),
        (
            {"gateway": "not an object", "gateways": GROUP["gateways"]},
            "gw1",
            "component configuration /gateway: expected an object of gateway settings, got str",
        ),
    ],
)
def test_a_missing_or_bad_gateways_entry_is_one_line_and_exit_2(
    fake_nucleus: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    configured: dict[str, Any],
    thing: str | None,
    expected: str,
    restore_logging: None,
) -> None:
    if thing is None:
        monkeypatch.delenv("AWS_IOT_THING_NAME", raising=False)
    else:
        monkeypatch.setenv("AWS_IOT_THING_NAME", thing)
    monkeypatch.setattr(ipc_transport, "connect_ipc", lambda: fake_nucleus(configured))

    code = component.main([])

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("anonflow greengrass component: error: ")
    assert expected in err[0]


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
    # The thing group shape, as infra deploys by default: this gateway runs its own entry only.
    nucleus = fake_nucleus(group_configuration(tmp_path, video_dir))
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
