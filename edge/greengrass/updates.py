"""Configuration updates over IPC: re-read, validate, and restart the gateway with the new settings."""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from anonflow.contract.errors import AnonflowError
from anonflow.edge.greengrass.settings import ConfigurationClient, gateway_settings
from anonflow.edge.runtime.config import GatewayConfig

log = logging.getLogger(__name__)


class UpdatesClient(ConfigurationClient, Protocol):
    """The part of `GreengrassCoreIPCClientV2` that reads and watches the component's configuration."""

    def subscribe_to_configuration_update(self, *, key_path: list[str], on_stream_event: Any) -> Any: ...


class Stoppable(Protocol):
    def stop(self) -> None: ...


class ConfigurationWatch:
    """Subscribes to the component's configuration; on a change that validates, keeps the new settings
    and stops the running gateway so the caller starts it again with them."""

    def __init__(self, ipc: UpdatesClient, current: GatewayConfig) -> None:
        self._ipc = ipc
        self._current = current
        self._pending: GatewayConfig | None = None
        self._gateway: Stoppable | None = None
        self._lock = threading.Lock()
        subscribe = ipc.subscribe_to_configuration_update
        subscribe(key_path=[], on_stream_event=self.on_update)

    def attach(self, gateway: Stoppable) -> None:
        with self._lock:
            self._gateway = gateway

    def on_update(self, _event: Any) -> None:
        try:
            new = gateway_settings(None, self._ipc)
        except AnonflowError as error:
            log.error(
                "configuration update rejected, running settings kept: %s",
                error,
                extra={"event": "configuration_rejected"},
            )
            return
        with self._lock:
            if new == self._current:
                return
            self._pending = new
            gateway = self._gateway
        log.info("configuration updated: restarting the gateway", extra={"event": "configuration_applied"})
        if gateway is not None:
            gateway.stop()

    def take(self) -> GatewayConfig | None:
        """The new settings if an update stopped the gateway, else None (the run simply ended)."""
        with self._lock:
            pending, self._pending = self._pending, None
            if pending is not None:
                self._current = pending
            return pending
