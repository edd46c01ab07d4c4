"""Direct transport: the AWS IoT Device SDK's MQTT5 client with mutual TLS, QoS 1, for gateways
without Greengrass. IoT Core (or any MQTT5 broker that requires client certificates) is the far side.

The client reconnects by itself with jittered backoff. Operations still pending when the connection
drops are failed, not queued in memory: the spool is the only queue, so nothing waits in RAM where a
crash would lose it. A publish counts as delivered on a PUBACK whose reason code is a success.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from awscrt import mqtt5
from awscrt.exceptions import AwsCrtError
from awsiot import mqtt5_client_builder

from anonflow.contract.errors import InputError
from anonflow.edge.runtime.batch import CONTENT_TYPE
from anonflow.edge.runtime.transports.base import TransportError, TransportStatus

log = logging.getLogger(__name__)

_TLS_REFUSED = (
    "TLS refused: check that the client certificate is valid, not expired, registered with (trusted by) "
    "the broker, and that the CA file matches the broker's certificate"
)
# What an operator should check for the errors a misconfigured gateway meets first. Under TLS 1.3 a
# refused client certificate surfaces as a failed read right after the handshake.
_HINTS = {
    "AWS_IO_TLS_ERROR_NEGOTIATION_FAILURE": _TLS_REFUSED,
    "AWS_IO_TLS_ERROR_READ_FAILURE": _TLS_REFUSED,
    "AWS_IO_TLS_ERROR_ALERT_RECEIVED": _TLS_REFUSED,
    "AWS_IO_SOCKET_CONNECTION_REFUSED": "nothing accepts connections at that host and port",
    "AWS_IO_SOCKET_TIMEOUT": "no answer from the endpoint (network down or firewalled)",
    "AWS_IO_DNS_INVALID_NAME": "the endpoint name does not resolve",
    "AWS_IO_DNS_QUERY_FAILED": "the endpoint name does not resolve",
    "AWS_ERROR_MQTT5_CONNACK_CONNECTION_REFUSED": "the broker refused the MQTT session (client id or policy)",
}


def certificate_validity(path: Path) -> tuple[datetime, datetime]:
    """(not before, not after) of a PEM certificate, UTC; InputError if it is not one."""
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as error:
        raise InputError(
            f"client certificate {path} is not a readable PEM X.509 certificate: {error}"
        ) from error
    return cert.not_valid_before_utc, cert.not_valid_after_utc


class MqttTransport:
    """MQTT5 over mutual TLS via `awsiot.mqtt5_client_builder.mtls_from_path`."""

    kind = "mqtt"

    def __init__(
        self,
        *,
        endpoint: str,
        port: int,
        certificate: Path,
        private_key: Path,
        ca: Path | None,
        client_id: str,
        keep_alive_s: int = 60,
        ack_timeout_s: float = 30.0,
        reconnect_min_s: float = 1.0,
        reconnect_max_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.endpoint = f"{endpoint}:{port}"
        self._clock = clock
        self._ready = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._last_error: str | None = None
        self._failures = 0
        self._reported: set[str] = set()
        self._not_before, self._not_after = certificate_validity(certificate)
        self._check_certificate_dates(certificate)
        self._client = mqtt5_client_builder.mtls_from_path(
            endpoint=endpoint,
            port=port,
            cert_filepath=str(certificate),
            pri_key_filepath=str(private_key),
            ca_filepath=str(ca) if ca else None,
            client_id=client_id,
            keep_alive_interval_sec=keep_alive_s,
            ack_timeout_sec=max(1, round(ack_timeout_s)),
            min_reconnect_delay_ms=round(reconnect_min_s * 1000),
            max_reconnect_delay_ms=round(reconnect_max_s * 1000),
            session_behavior=mqtt5.ClientSessionBehaviorType.CLEAN,
            offline_queue_behavior=mqtt5.ClientOperationQueueBehaviorType.FAIL_ALL_ON_DISCONNECT,
            on_lifecycle_connection_success=self._on_connected,
            on_lifecycle_connection_failure=self._on_connection_failure,
            on_lifecycle_disconnection=self._on_disconnected,
            on_lifecycle_stopped=lambda _data: self._stopped.set(),
        )
        self._client.start()

    def _check_certificate_dates(self, certificate: Path) -> None:
        now = datetime.fromtimestamp(self._clock(), UTC)
        if now > self._not_after:
            problem = f"client certificate {certificate} expired on {self._not_after:%Y-%m-%d %H:%M} UTC"
        elif now < self._not_before:
            problem = (
                f"client certificate {certificate} is not valid before {self._not_before:%Y-%m-%d %H:%M} UTC "
                "(check the gateway clock)"
            )
        else:
            return
        self._last_error = problem
        log.error("%s; the broker will refuse the connection", problem, extra={"event": "mqtt_certificate"})

    # -- lifecycle callbacks (run on the SDK's event-loop thread: keep them short) -------------------

    def _on_connected(self, _data: Any) -> None:
        with self._lock:
            self._reported.clear()
            self._last_error = None
        self._ready.set()
        log.info("MQTT connected to %s", self.endpoint, extra={"event": "mqtt_connected"})

    def _on_connection_failure(self, data: Any) -> None:
        name = getattr(data.exception, "name", None) or str(data.exception)
        connack = getattr(data, "connack_packet", None)
        reason = getattr(connack, "reason_code", None) if connack is not None else None
        if reason is not None:
            name = f"{name} (CONNACK {getattr(reason, 'name', reason)})"
        message = f"MQTT connection to {self.endpoint} failed: {name}"
        hint = _HINTS.get(name.split(" ")[0])
        if hint:
            message = f"{message}: {hint}"
        with self._lock:
            self._failures += 1
            self._last_error = message
            first = name not in self._reported
            self._reported.add(name)
        self._ready.clear()
        # The first occurrence of each distinct failure is an error line; the repeats while the
        # client keeps retrying stay in the debug log and in the health counter.
        log.log(
            logging.ERROR if first else logging.DEBUG,
            message,
            extra={"event": "mqtt_connect_failed", "error": name, "failures": self._failures},
        )

    def _on_disconnected(self, data: Any) -> None:
        self._ready.clear()
        name = getattr(data.exception, "name", None) or str(data.exception)
        with self._lock:
            self._last_error = f"MQTT connection to {self.endpoint} lost: {name}"
        if not self._stopped.is_set():
            log.warning(self._last_error, extra={"event": "mqtt_disconnected", "error": name})

    # -- Transport -----------------------------------------------------------------------------

    def wait_ready(self, timeout_s: float) -> bool:
        return self._ready.wait(timeout_s)

    def publish(self, topic: str, payload: bytes, timeout_s: float) -> None:
        if not self._ready.is_set():
            raise TransportError(self._last_error or f"not connected to {self.endpoint}")
        packet = mqtt5.PublishPacket(
            topic=topic,
            payload=payload,
            qos=mqtt5.QoS.AT_LEAST_ONCE,
            content_type=CONTENT_TYPE,
        )
        try:
            result = self._client.publish(packet).result(timeout=timeout_s)
        except concurrent.futures.TimeoutError as error:
            raise TransportError(f"no PUBACK from {self.endpoint} within {timeout_s:g} s") from error
        except (AwsCrtError, RuntimeError) as error:
            # Failed by the client: disconnected meanwhile, ack timeout, or refused by its validation.
            raise TransportError(f"publish to {topic} failed: {getattr(error, 'name', error)}") from error
        puback = result.puback
        code = int(puback.reason_code) if puback is not None else -1
        # PUBACK codes below 0x80 are successes (16: accepted, no subscriber matched).
        if not 0 <= code < 0x80:
            reason = getattr(puback.reason_code, "name", code) if puback is not None else "no PUBACK"
            message = f"{self.endpoint} refused a message on {topic}: {reason}"
            with self._lock:
                self._last_error = message
            raise TransportError(message)

    def maintain(self) -> None:
        return None

    def status(self) -> TransportStatus:
        with self._lock:
            last_error, failures = self._last_error, self._failures
        return TransportStatus(
            kind=self.kind,
            connected=self._ready.is_set(),
            last_error=last_error,
            connect_failures=failures,
            certificate_expires_in_s=round(self._not_after.timestamp() - self._clock(), 1),
        )

    def close(self) -> None:
        self._stopped.set()
        self._ready.clear()
        self._client.stop()
