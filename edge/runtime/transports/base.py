"""The one small interface every transport honours (see tests/edge/runtime for the contract test)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class TransportError(Exception):
    """A payload was not acknowledged. The sender keeps it spooled and tries again later."""


@dataclass(frozen=True, slots=True)
class TransportStatus:
    """What the health message reports about the transport.

    connected: whether a publish can be attempted now; last_error: the latest connection or publish
    problem in one line (None once resolved by a success); connect_failures: failed connection attempts
    since start; certificate_expires_in_s: seconds until the client certificate expires (negative once
    expired; None where the transport holds no certificate).
    """

    kind: str
    connected: bool
    last_error: str | None
    connect_failures: int
    certificate_expires_in_s: float | None = None


class Transport(Protocol):
    """Delivers NDJSON payloads to topics. `publish` returns only once the far side acknowledged."""

    kind: str

    def wait_ready(self, timeout_s: float) -> bool:
        """Block until a publish can be attempted (connected), at most `timeout_s`; True when ready."""
        ...

    def publish(self, topic: str, payload: bytes, timeout_s: float) -> None:
        """Send one payload at QoS 1 and wait for its acknowledgement; raise TransportError otherwise."""
        ...

    def maintain(self) -> None:
        """Periodic housekeeping (rolling files by age); called by the sender between publishes."""
        ...

    def status(self) -> TransportStatus: ...

    def close(self) -> None: ...
