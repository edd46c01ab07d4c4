"""Configuration updates reach the running component over IPC. No Greengrass nucleus exists here, so the
fake nucleus (conftest) plays the deployment's update to the component's subscription; the gateway behind
it is the real one (real models, a real video)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from anonflow.edge.greengrass import main as component
from anonflow.edge.runtime.transports import greengrass as ipc_transport
from tests.edge.greengrass.test_main import configuration


def _entry_cameras(nucleus: Any) -> set[str]:
    return {r["topic"].split("/")[3] for r in nucleus.requests if r["topic"].endswith("/entries")}


def _run_with_update(nucleus: Any, updated: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> int:
    """Run the component; once it has published, play `updated` as a deployment would."""
    monkeypatch.setenv("AWS_IOT_THING_NAME", "store1-gw7")
    monkeypatch.setattr(ipc_transport, "connect_ipc", lambda: nucleus)
    published = threading.Event()
    publish = nucleus.publish_to_iot_core_async

    def watching(**request: Any) -> Any:
        published.set()
        return publish(**request)

    nucleus.publish_to_iot_core_async = watching
    player = threading.Thread(target=lambda: published.wait(120) and nucleus.update(updated), daemon=True)
    player.start()
    code = component.main([])
    player.join(5)
    return int(code)


def test_a_configuration_update_restarts_the_cameras_with_the_new_settings(
    tmp_path: Path, video_dir: Path, fake_nucleus: Any, monkeypatch: pytest.MonkeyPatch, restore_logging: None
) -> None:
    first = configuration(tmp_path, video_dir)
    updated = configuration(tmp_path, video_dir)
    updated["gateway"]["cameras"] = [dict(updated["gateway"]["cameras"][0], id="door")]
    nucleus = fake_nucleus(first)

    assert _run_with_update(nucleus, updated, monkeypatch) == 0

    # Without the subscription the run would end with "aisle" only: the video plays again as "door".
    assert "door" in _entry_cameras(nucleus)


def test_a_bad_configuration_update_is_rejected_and_the_running_settings_stay(
    tmp_path: Path,
    video_dir: Path,
    fake_nucleus: Any,
    monkeypatch: pytest.MonkeyPatch,
    restore_logging: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = configuration(tmp_path, video_dir)
    broken = configuration(tmp_path, video_dir)
    del broken["gateway"]["store_id"]
    nucleus = fake_nucleus(first)

    assert _run_with_update(nucleus, broken, monkeypatch) == 0

    assert _entry_cameras(nucleus) == {"aisle"}
    assert "configuration update rejected" in capsys.readouterr().err
