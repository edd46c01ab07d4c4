"""The README's configuration examples are real: each parses with the model that reads it in the product."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from anonflow.dataflow.stores import StoresConfig
from anonflow.edge.config import CameraChainConfig

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _yaml_after(marker: str) -> object:
    found = re.search(re.escape(marker) + r".*?```yaml\n(.*?)```", README, re.S)
    assert found, f"no YAML example after {marker!r} in README.md"
    return yaml.safe_load(found.group(1))


def test_camera_example_is_a_valid_chain_config() -> None:
    config = CameraChainConfig.model_validate(_yaml_after("A camera's settings"))
    assert [line.id for line in config.lines] == ["door"]


def test_store_example_is_a_valid_stores_file() -> None:
    stores = StoresConfig.model_validate(_yaml_after("A store file"))
    assert stores.stores[0].time_zone == "Europe/Berlin"


def test_quickstart_is_two_commands_and_ci_runs_the_test_one() -> None:
    block = re.search(r"## Quickstart.*?```sh\n(.*?)```", README, re.S)
    assert block
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["make demo", "make check"]
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text(encoding="utf-8")
    assert "exec make check" in ci
