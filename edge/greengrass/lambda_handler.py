"""The gateway as a pinned (long-lived) AWS Lambda function on Greengrass v2.

Greengrass starts a pinned function once and keeps its container. The first `handler` call starts the
same `Gateway` the component runs, on a background thread; later calls (any event) return its health.
Settings: the YAML file named by $ANONFLOW_GATEWAY_CONFIG, else the component configuration over IPC.
With $ANONFLOW_START_ON_LOAD=1 the gateway starts when the module loads, for pinned functions that
receive no events.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any, cast

from anonflow.contract.errors import AnonflowError
from anonflow.edge.greengrass.settings import ConfigurationClient, gateway_settings
from anonflow.edge.greengrass.store_secret import SecretClient, nucleus_secrets
from anonflow.edge.runtime import logs
from anonflow.edge.runtime.gateway import Gateway
from anonflow.edge.runtime.transports import greengrass as ipc_transport

CONFIG_ENV = "ANONFLOW_GATEWAY_CONFIG"
START_ON_LOAD_ENV = "ANONFLOW_START_ON_LOAD"

log = logging.getLogger(__name__)


class _Container:
    """The one gateway of this Lambda container and the thread serving it."""

    lock = threading.Lock()
    gateway: Gateway | None = None
    thread: threading.Thread | None = None


def start() -> Gateway:
    """Start the gateway once per container; later calls return the running one."""
    with _Container.lock:
        if _Container.gateway is None:
            path = os.environ.get(CONFIG_ENV)
            ipc = None if path else ipc_transport.connect_ipc()
            config = gateway_settings(Path(path) if path else None, cast(ConfigurationClient, ipc))
            logs.configure(config.log_level)
            read_secret = nucleus_secrets(cast(SecretClient, ipc)) if ipc is not None else None
            gateway = Gateway(config, read_secret=read_secret)
            gateway.start()  # models load and the spool opens here, so errors reach the caller
            _Container.thread = threading.Thread(target=gateway.serve, name="gateway", daemon=True)
            _Container.thread.start()
            _Container.gateway = gateway
        return _Container.gateway


def stop(timeout_s: float = 60.0) -> None:
    """Stop the gateway (container shutdown, tests); unsent entries stay spooled."""
    with _Container.lock:
        gateway, thread = _Container.gateway, _Container.thread
        _Container.gateway = _Container.thread = None
    if gateway is not None and thread is not None:
        gateway.stop()
        thread.join(timeout_s)


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Lambda entry point: ensure the gateway runs; answer with its state and health."""
    try:
        gateway = start()
    except AnonflowError as error:
        log.error("gateway cannot start: %s", error, extra={"event": "gateway_start_failed"})
        return {"status": "error", "error": str(error)}
    running = _Container.thread is not None and _Container.thread.is_alive()
    return {"status": "running" if running else "stopped", "health": gateway.health()}


if os.environ.get(START_ON_LOAD_ENV) == "1":
    start()
