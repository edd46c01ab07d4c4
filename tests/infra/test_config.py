"""Environment files: the shipped ones load; a broken one is one clear error naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from anonflow.contract.errors import InputError
from anonflow.infra.app import main as synth_main
from anonflow.infra.config import ENVIRONMENTS_DIR, EnvironmentConfig, load_environment

GATEWAY: dict[str, Any] = {"thing_name": "gw", "cameras": [{"id": "door", "source": 0}]}
VALID: dict[str, Any] = {
    "name": "stage",
    "region": "eu-west-1",
    "stores": [
        {
            "store_id": "s1",
            "time_zone": "Europe/Paris",
            "gateways": [{"thing_name": "s1-gw1", "cameras": [{"id": "door", "source": "rtsp://cam/1"}]}],
        }
    ],
    "greengrass": {"component_version": "1.0.0"},
}


@pytest.mark.parametrize("path", sorted(ENVIRONMENTS_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_environments_load(path: Path) -> None:
    config = load_environment(path)
    assert config.prefix == f"anonflow-{config.name}"
    assert config.retention.audit_crop_days >= 1


def test_environment_by_name() -> None:
    assert load_environment("dev").name == "dev"


def _set(document: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    copy: dict[str, Any] = yaml.safe_load(yaml.safe_dump(document))
    *parents, last = dotted.split(".")
    node: Any = copy
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[last] = value
    return copy


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("colour", "blue", "colour: unknown key"),
        ("stores.0.time_zone", "Mars/Olympus", "stores.0.time_zone: unknown IANA time zone"),
        ("stores.0.store_id", "bad store!", "stores.0.store_id: String should match pattern"),
        ("stores.0.gateways.0.cameras", [], "stores.0.gateways.0.cameras: List should have at least 1 item"),
        ("stores.0.gateways.0.thing", "x", "stores.0.gateways.0.thing: unknown key"),
        ("stores", [], "stores: List should have at least 1 item"),
        (
            "retention",
            {"audit_crop_days": 0},
            "retention.audit_crop_days: Input should be greater than or equal to 1",
        ),
        (
            "retention",
            {"audit_crop_days": None},
            "retention.audit_crop_days: Input should be a valid integer",
        ),
        ("stream", {"shard_count": 0}, "stream.shard_count: Input should be greater than or equal to 1"),
        (
            "processing",
            {"flink": {"cloudwatch_agent_version": "latest"}},
            "processing.flink.cloudwatch_agent_version: String should match pattern",
        ),
        (
            "greengrass",
            {"component_version": "1.0"},
            "greengrass.component_version: String should match pattern",
        ),
        ("greengrass", {"component_version": "1.0.0", "packaging": "lambda"}, "needs `lambda_code_path`"),
        (
            "greengrass",
            {"nucleus_version": "2.14.3"},
            "set both `nucleus_version` and `disk_spooler_version`",
        ),
        ("processing", {"runner": "managed-flink"}, "processing.runner: Input should be 'flink-eks' or"),
        ("flink", {"parallelism": 2}, "flink: unknown key"),  # the managed-service settings are gone
        (
            "processing",
            {"batch": {"schedule": "every day"}},
            "processing.batch.schedule: String should match pattern",
        ),
        (
            "processing",
            {"flink": {"kubernetes_version": "1.29"}},
            "processing.flink.kubernetes_version: Input should be '1.33'",
        ),
        ("greengrass", {"component_version": "1.0.0", "recipe": "x.yaml"}, "greengrass.recipe: unknown key"),
        (
            "greengrass",
            {"component_version": "1.0.0", "deployment_target": "things"},
            "greengrass.deployment_target: Input should be 'group' or 'gateway'",
        ),
        (
            "greengrass",
            {"component_version": "1.0.0", "configuration": {"gateways": {"s1-gw1": {}}}},
            "greengrass.configuration: `gateways` is filled in from `stores`",
        ),
        ("alarms", {"email": ["not-an-address"]}, "alarms.email.0: String should match pattern"),
        ("account", "12345", "account: String should match pattern"),
        ("name", "Prod_1", "name: String should match pattern"),
    ],
)
def test_bad_environment_is_one_clear_error(tmp_path: Path, key: str, value: Any, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(_set(VALID, key, value)), encoding="utf-8")
    with pytest.raises(InputError) as error:
        load_environment(path)
    assert message in str(error.value)
    assert str(error.value).startswith(f"{path}: ")
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("stores", "message"),
    [
        (
            [{"store_id": "s1", "time_zone": "UTC"}, {"store_id": "s1", "time_zone": "UTC"}],
            "store ids must be unique",
        ),
        (
            [
                {"store_id": "s1", "time_zone": "UTC", "gateways": [GATEWAY]},
                {"store_id": "s2", "time_zone": "UTC", "gateways": [GATEWAY]},
            ],
            "a gateway belongs to one store only",
        ),
    ],
)
def test_ids_are_unique(tmp_path: Path, stores: list[dict[str, Any]], message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**VALID, "stores": stores}), encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_environment(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("stores: [unclosed", "not valid YAML"),
        ("- a\n- b\n", "expected a mapping of environment settings, got list"),
    ],
)
def test_unreadable_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "env.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_environment(path)


def test_unknown_environment_lists_the_known_ones() -> None:
    with pytest.raises(
        InputError, match=r"environment file .*nowhere.yaml not found \(known environments: dev"
    ):
        load_environment("nowhere")


def test_synth_entry_point_reports_a_bad_environment_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert synth_main(["--env", "nowhere", "--outdir", "unused"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("infra: error: environment file ")


def test_defaults_expire_audit_crops() -> None:
    config = EnvironmentConfig.model_validate(VALID)
    assert config.retention.audit_crop_days == 7
    assert config.greengrass.packaging == "component"
    assert config.greengrass.deployment_target == "group", "one deployment to the thing group by default"
