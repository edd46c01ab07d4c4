"""The component package: templated recipe, access scoped to the gateway's own topics, defaults that
the gateway accepts, and a build that yields the artifacts the recipe names."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from anonflow.contract.errors import InputError
from anonflow.contract.topics import entries_topic, health_topic
from anonflow.edge.greengrass import build
from anonflow.edge.greengrass.settings import with_greengrass_defaults
from anonflow.edge.modelfiles.registry import default_model, sha256_of
from anonflow.edge.runtime.config import GatewayConfig, GreengrassTransportConfig, parse_config

HERE = Path(build.__file__).parent
THING = "store1-gw7"


def rendered() -> dict[str, Any]:
    text = build.render_recipe(
        (HERE / "recipe.yaml").read_text(), name="dev.anonflow.Gateway", version="1.2.3", author="anonflow"
    )
    recipe: dict[str, Any] = yaml.safe_load(text)
    return recipe


def matches(topic_filter: str, topic: str) -> bool:
    """MQTT topic-filter matching, as the nucleus applies it to mqttproxy resources."""
    levels, parts = topic_filter.split("/"), topic.split("/")
    for i, level in enumerate(levels):
        if level == "#":
            return True
        if i >= len(parts) or (level != "+" and level != parts[i]):
            return False
    return len(levels) == len(parts)


def test_the_template_carries_gdk_placeholders_and_renders_them() -> None:
    template = yaml.safe_load((HERE / "recipe.yaml").read_text())
    recipe = rendered()

    assert (template["ComponentName"], template["ComponentVersion"]) == (
        "{COMPONENT_NAME}",
        "{COMPONENT_VERSION}",
    )
    assert (recipe["ComponentName"], recipe["ComponentVersion"]) == ("dev.anonflow.Gateway", "1.2.3")
    uris = [a["URI"] for a in recipe["Manifests"][0]["Artifacts"]]
    assert uris == [
        "s3://BUCKET_NAME/COMPONENT_NAME/COMPONENT_VERSION/anonflow.zip",
        "s3://BUCKET_NAME/COMPONENT_NAME/COMPONENT_VERSION/models.zip",
    ]
    name, version, _ = build.gdk_component(HERE / "gdk-config.json")
    assert name == "dev.anonflow.Gateway" and version.count(".") == 2


@pytest.mark.parametrize(
    ("topic", "allowed"),
    [
        (entries_topic("store1", "cam1"), True),
        (entries_topic("other-store", "cam9"), True),
        (health_topic("store1", THING), True),
        (health_topic("store1", "someone-else"), False),
        ("anonflow/v1/store1/cam1/crops", False),
        ("anonflow/v2/store1/cam1/entries", False),
        (f"$aws/things/{THING}/shadow/update", False),
        ("anything/else", False),
    ],
)
def test_access_is_scoped_to_the_gateway_topics(topic: str, allowed: bool) -> None:
    policies = rendered()["ComponentConfiguration"]["DefaultConfiguration"]["accessControl"]
    assert list(policies) == ["aws.greengrass.ipc.mqttproxy"]
    (policy_id, policy), *rest = policies["aws.greengrass.ipc.mqttproxy"].items()
    assert not rest and policy_id == "dev.anonflow.Gateway:mqttproxy:1"
    assert policy["operations"] == ["aws.greengrass#PublishToIoTCore"]
    resources = [r.replace("{iot:thingName}", THING) for r in policy["resources"]]

    assert any(matches(r, topic) for r in resources) is allowed


def test_default_configuration_plus_a_deployment_is_a_valid_gateway(
    video_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defaults = rendered()["ComponentConfiguration"]["DefaultConfiguration"]["gateway"]
    deployment = {
        "store_id": "store1",
        "cameras": [{"id": "aisle", "source": str(video_dir / "people-detection.gif")}],
    }
    monkeypatch.setenv("AWS_IOT_THING_NAME", THING)

    config = parse_config(with_greengrass_defaults({**defaults, **deployment}), "merged")

    assert isinstance(config, GatewayConfig) and config.gateway_id == THING
    assert isinstance(config.transport, GreengrassTransportConfig)
    with pytest.raises(InputError, match="merged: store_id: required key missing"):
        parse_config(with_greengrass_defaults(dict(defaults)), "merged")


def test_the_lifecycle_runs_the_component_main_with_the_packaged_models() -> None:
    lifecycle = rendered()["Manifests"][0]["Lifecycle"]

    assert lifecycle["Run"]["Script"].endswith("-m anonflow.edge.greengrass.main")
    assert importlib.util.find_spec("anonflow.edge.greengrass.main") is not None
    assert lifecycle["Setenv"]["ANONFLOW_MODEL_DIR"] == "{artifacts:decompressedPath}/models"
    assert "setEnv" not in lifecycle, "the recipe reference spells it Setenv; other spellings are ignored"
    assert "anonflow/wheels/anonflow-*.whl)[edge]" in lifecycle["Install"]["Script"]
    assert (
        lifecycle["Install"]["RequiresPrivilege"] is False and lifecycle["Run"]["RequiresPrivilege"] is False
    )


def test_each_component_version_installs_into_and_runs_from_its_own_venv() -> None:
    """pip skips a wheel whose version is installed and {work:path} survives updates: a shared venv would
    keep the previous version's code running after an update."""
    lifecycle = rendered()["Manifests"][0]["Lifecycle"]
    install, run = lifecycle["Install"]["Script"], lifecycle["Run"]["Script"]
    version = rendered()["ComponentVersion"]
    venv = f"{{work:path}}/venv-{version}"
    assert install.startswith(f"python3 -m venv {venv} &&")
    assert f"{venv}/bin/python -m pip install" in install
    assert run.startswith(f"{venv}/bin/python ")
    assert f"! -name 'venv-{version}' -exec rm -rf" in install, "older versions' venvs are cleaned up"


def test_the_build_produces_what_the_recipe_names(tmp_path: Path, model_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(HERE / "build.py"), "--output", str(tmp_path), "--model-dir", str(model_dir)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr

    name, version, _ = build.gdk_component(HERE / "gdk-config.json")
    artifacts = tmp_path / "artifacts" / name / version
    recipe = yaml.safe_load((tmp_path / "recipes" / "recipe.yaml").read_text())
    assert recipe["ComponentName"] == name and recipe["ComponentVersion"] == version
    for artifact in recipe["Manifests"][0]["Artifacts"]:
        assert (artifacts / Path(artifact["URI"]).name).is_file()
    with zipfile.ZipFile(artifacts / "anonflow.zip") as archive:
        (wheel,) = [n for n in archive.namelist() if n.startswith("wheels/anonflow-")]
        archive.extract(wheel, tmp_path)
    with zipfile.ZipFile(tmp_path / wheel) as wheel_zip:
        names = set(wheel_zip.namelist())
    wanted = {
        "anonflow/edge/greengrass/main.py",
        "anonflow/edge/runtime/gateway.py",
        "anonflow/contract/entry.py",
    }
    assert wanted <= names
    # One import root: nothing but `anonflow` (and the wheel's metadata) at the top of the wheel.
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {"anonflow"}
    with zipfile.ZipFile(artifacts / "models.zip") as archive:
        archive.extractall(tmp_path / "models")
    for role in ("pose", "attributes"):
        spec = default_model(role)
        assert sha256_of(tmp_path / "models" / spec.file) == spec.sha256
    assert not json.loads((HERE / "gdk-config.json").read_text())["component"][name]["version"].startswith(
        "NEXT"
    )


def test_models_converted_here_reach_the_gateway_with_their_sidecars(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from anonflow.contract.errors import ModelFileError
    from anonflow.edge.modelfiles.registry import resolve
    from anonflow.models.fetch import fetch
    from tests.kit.httpserve import serving

    monkeypatch.setenv("ANONFLOW_CACHE_DIR", str(tmp_path / "cache"))
    converted = tmp_path / "converted"
    with serving(model_dir / "upstream") as storage:
        for role in ("pose", "attributes"):
            fetch(default_model(role), converted, storage, timeout_s=10)

    stored = build.package_models(converted, tmp_path / "models.zip")
    gateway = tmp_path / "gateway"
    with zipfile.ZipFile(tmp_path / "models.zip") as archive:
        archive.extractall(gateway)

    assert len(stored) == 4
    for role in ("pose", "attributes"):
        resolve(default_model(role), gateway)  # accepted on the gateway, as on the workstation
    (gateway / (default_model("pose").file + ".json")).unlink()
    with pytest.raises(ModelFileError, match="does not match the manifest"):
        resolve(default_model("pose"), gateway)  # without its sidecar the converted file is refused
