"""Where a packaged gateway finds its settings: a YAML file, or the Greengrass component configuration.

Both packagings (the component's `main` and the Lambda `handler`) call `gateway_settings`. Without a
file, the settings are the component configuration's `gateway` object, read over IPC, with two
Greengrass defaults: the gateway id is the core device's thing name, and entries go out through the
nucleus (transport `greengrass`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol, cast

from anonflow.errors import InputError
from edge.runtime.config import GatewayConfig, load_config, parse_config

CONFIG_KEY = "gateway"
THING_NAME_ENV = "AWS_IOT_THING_NAME"


class ConfigurationClient(Protocol):
    """The part of `GreengrassCoreIPCClientV2` that reads the component's own configuration."""

    def get_configuration(self, *, key_path: list[str]) -> Any: ...


def gateway_settings(path: Path | None, ipc: ConfigurationClient | None = None) -> GatewayConfig:
    """The YAML file at `path`, else the component configuration's `gateway` object over IPC."""
    if path is not None:
        return load_config(path)
    if ipc is None:
        from edge.runtime.transports.greengrass import connect_ipc

        # The nucleus's V2 IPC client serves configuration reads as well as publishes.
        ipc = cast(ConfigurationClient, connect_ipc())
    value = ipc.get_configuration(key_path=[CONFIG_KEY]).value
    where = f"component configuration /{CONFIG_KEY}"
    if not isinstance(value, dict):
        raise InputError(f"{where}: expected an object of gateway settings, got {type(value).__name__}")
    return parse_config(with_greengrass_defaults(value), where)


def with_greengrass_defaults(settings: dict[str, Any]) -> dict[str, Any]:
    out = dict(settings)
    thing = os.environ.get(THING_NAME_ENV)
    if not out.get("gateway_id") and thing:
        out["gateway_id"] = thing
    out.setdefault("transport", {"kind": "greengrass"})
    return out
