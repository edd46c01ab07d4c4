"""Where a packaged gateway finds its settings: a YAML file, or the Greengrass component configuration.

Both packagings (the component's `main` and the Lambda `handler`) call `gateway_settings`. Without a
file, the settings come from the component configuration, read over IPC:

- `gateway`: the gateway settings (edge/runtime/config.py). With a deployment per gateway it holds
  everything; with one deployment to the whole thing group it holds what all gateways share.
- `gateways` (optional): thing name -> that gateway's own settings (store, cameras, ...), laid over
  `gateway` the way Greengrass merges configuration (objects merge key by key, anything else is
  replaced). A thing group deployment carries every gateway's entry; each gateway picks its own by the
  core device's thing name, and stops with one clear line if the map has none for it.

Two Greengrass defaults apply last: the gateway id is the core device's thing name, and entries go out
through the nucleus (transport `greengrass`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol, cast

from anonflow.contract.errors import InputError
from anonflow.edge.runtime.config import GatewayConfig, load_config, parse_config

CONFIG_KEY = "gateway"
GATEWAYS_KEY = "gateways"
THING_NAME_ENV = "AWS_IOT_THING_NAME"
_WHERE = "component configuration"


class ConfigurationClient(Protocol):
    """The part of `GreengrassCoreIPCClientV2` that reads the component's own configuration."""

    def get_configuration(self, *, key_path: list[str]) -> Any: ...


def gateway_settings(path: Path | None, ipc: ConfigurationClient | None = None) -> GatewayConfig:
    """The YAML file at `path`, else this gateway's settings from the component configuration over IPC."""
    if path is not None:
        return load_config(path)
    if ipc is None:
        from anonflow.edge.runtime.transports.greengrass import connect_ipc

        # The nucleus's V2 IPC client serves configuration reads as well as publishes.
        ipc = cast(ConfigurationClient, connect_ipc())
    # An empty key path reads the whole configuration: one read, and no error for an absent `gateways`.
    configuration = ipc.get_configuration(key_path=[]).value
    settings, where = select_gateway(configuration if isinstance(configuration, dict) else {})
    return parse_config(with_greengrass_defaults(settings), where)


def select_gateway(configuration: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """This gateway's settings from a component configuration, and where they were read (for errors)."""
    shared = configuration.get(CONFIG_KEY, {})
    if not isinstance(shared, dict):
        raise InputError(
            f"{_WHERE} /{CONFIG_KEY}: expected an object of gateway settings, got {type(shared).__name__}"
        )
    if configuration.get(GATEWAYS_KEY) is None:
        return shared, f"{_WHERE} /{CONFIG_KEY}"
    gateways = configuration[GATEWAYS_KEY]
    where = f"{_WHERE} /{GATEWAYS_KEY}"
    if not isinstance(gateways, dict):
        raise InputError(
            f"{where}: expected an object of thing name -> gateway settings, got {type(gateways).__name__}"
        )
    thing = os.environ.get(THING_NAME_ENV)
    if not thing:
        raise InputError(f"{where}: cannot pick this gateway's entry: ${THING_NAME_ENV} is not set")
    if thing not in gateways:
        known = sorted(gateways)
        shown = ", ".join(known[:5]) + (f", ... ({len(known)} in all)" if len(known) > 5 else "")
        raise InputError(
            f"{where}: no entry for this gateway's thing name {thing!r} (has: {shown or 'none'})"
        )
    own = gateways[thing]
    if not isinstance(own, dict):
        raise InputError(f"{where}/{thing}: expected an object of gateway settings, got {type(own).__name__}")
    return merge_configuration(shared, own), f"{where}/{thing}"


def merge_configuration(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """`update` laid over `base` as Greengrass merges configuration: objects key by key, the rest replaced
    (so a gateway's `cameras` list replaces, never extends, a shared one)."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_configuration(out[key], value)
        else:
            out[key] = value
    return out


def with_greengrass_defaults(settings: dict[str, Any]) -> dict[str, Any]:
    out = dict(settings)
    thing = os.environ.get(THING_NAME_ENV)
    if not out.get("gateway_id") and thing:
        out["gateway_id"] = thing
    out.setdefault("transport", {"kind": "greengrass"})
    return out
