"""Transports behind one interface; `open_transport` builds the one a gateway configuration names.

Each implementation imports its SDK only when chosen, so a local-files gateway never loads awscrt.
"""

from __future__ import annotations

from anonflow.edge.runtime.config import (
    GreengrassTransportConfig,
    LocalTransportConfig,
    MqttTransportConfig,
)
from anonflow.edge.runtime.transports.base import Transport, TransportError, TransportStatus


def open_transport(
    config: LocalTransportConfig | MqttTransportConfig | GreengrassTransportConfig,
    *,
    store_id: str,
    gateway_id: str,
) -> Transport:
    if isinstance(config, LocalTransportConfig):
        from anonflow.edge.runtime.transports.local import LocalFilesTransport

        return LocalFilesTransport(
            config.directory,
            store_id=store_id,
            gateway_id=gateway_id,
            max_file_bytes=config.max_file_bytes,
            roll_interval_s=config.roll_interval_s,
        )
    if isinstance(config, MqttTransportConfig):
        from anonflow.edge.runtime.transports.mqtt import MqttTransport

        return MqttTransport(
            endpoint=config.endpoint,
            port=config.port,
            certificate=config.certificate,
            private_key=config.private_key,
            ca=config.ca,
            client_id=config.client_id or gateway_id,
            keep_alive_s=config.keep_alive_s,
            ack_timeout_s=config.ack_timeout_s,
            reconnect_min_s=config.reconnect_min_s,
            reconnect_max_s=config.reconnect_max_s,
        )
    from anonflow.edge.runtime.transports.greengrass import GreengrassTransport

    return GreengrassTransport()


def ack_timeout_s(config: LocalTransportConfig | MqttTransportConfig | GreengrassTransportConfig) -> float:
    """How long the sender waits for one publish's acknowledgement."""
    return 30.0 if isinstance(config, LocalTransportConfig) else config.ack_timeout_s


__all__ = ["Transport", "TransportError", "TransportStatus", "ack_timeout_s", "open_transport"]
