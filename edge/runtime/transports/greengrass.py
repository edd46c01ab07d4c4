"""Greengrass transport: IPC `PublishToIoTCore` at QoS 1 through the nucleus on the same device.

The nucleus holds the connection to IoT Core. Its IPC response is the acknowledgement: the entries
leave the spool once the nucleus accepted them (depending on the nucleus version, after IoT Core's
PUBACK or once they sit in the nucleus's own spooler). The recipe's `accessControl` must allow
`aws.greengrass#PublishToIoTCore` on the entries and health topics.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import threading
from collections.abc import Callable
from typing import Any, NoReturn, Protocol

from awscrt.exceptions import AwsCrtError
from awsiot.greengrasscoreipc import model

from anonflow.contract.errors import InputError
from anonflow.edge.runtime.batch import CONTENT_TYPE
from anonflow.edge.runtime.transports.base import TransportError, TransportStatus

log = logging.getLogger(__name__)

QOS_AT_LEAST_ONCE: str = model.QOS.AT_LEAST_ONCE
SOCKET_ENV = "AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT"


class IpcClient(Protocol):
    """The part of `GreengrassCoreIPCClientV2` this transport uses."""

    def publish_to_iot_core_async(
        self, *, topic_name: str, qos: str, payload: bytes, content_type: str
    ) -> concurrent.futures.Future[Any]: ...

    def close(self) -> Any: ...


def connect_ipc() -> IpcClient:
    """A V2 IPC client connected to the nucleus; InputError when not running under Greengrass."""
    if not os.environ.get(SOCKET_ENV):
        raise InputError(
            f"the greengrass transport needs the nucleus IPC socket (${SOCKET_ENV} is not set): "
            "run as a Greengrass component, or choose transport kind mqtt or local"
        )
    from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2

    client: IpcClient = GreengrassCoreIPCClientV2()
    return client


class GreengrassTransport:
    """Publishes through the nucleus; reconnects the IPC client after a broken connection."""

    kind = "greengrass"

    def __init__(self, connect: Callable[[], IpcClient] | None = None) -> None:
        self._connect = connect or connect_ipc
        self._lock = threading.Lock()
        self._client: IpcClient | None = self._connect()
        self._last_error: str | None = None
        self._failures = 0

    def wait_ready(self, timeout_s: float) -> bool:
        return True

    def publish(self, topic: str, payload: bytes, timeout_s: float) -> None:
        client = self._client_or_reconnect()
        try:
            client.publish_to_iot_core_async(
                topic_name=topic, qos=QOS_AT_LEAST_ONCE, payload=payload, content_type=CONTENT_TYPE
            ).result(timeout=timeout_s)
        except concurrent.futures.TimeoutError as error:
            self._fail(f"no IPC response for {topic} within {timeout_s:g} s", error)
        except model.UnauthorizedError as error:
            self._fail(
                f"not authorized to publish to {topic}: the component's accessControl must allow "
                "aws.greengrass#PublishToIoTCore on it",
                error,
            )
        except model.GreengrassCoreIPCError as error:
            # The nucleus answered with an error (ServiceError: its spooler is full, IoT Core refused).
            self._fail(f"PublishToIoTCore {topic} failed: {type(error).__name__}: {error}", error)
        except (RuntimeError, AwsCrtError, OSError) as error:
            # The IPC connection itself broke (nucleus restarting): reconnect on the next publish.
            with self._lock:
                self._client = None
            self._fail(f"IPC connection to the nucleus failed: {type(error).__name__}: {error}", error)
        with self._lock:
            self._last_error = None

    def _client_or_reconnect(self) -> IpcClient:
        with self._lock:
            if self._client is None:
                try:
                    self._client = self._connect()
                except (RuntimeError, AwsCrtError, OSError) as error:
                    self._failures += 1
                    self._last_error = f"cannot reconnect to the Greengrass nucleus: {error}"
                    raise TransportError(self._last_error) from error
            return self._client

    def _fail(self, message: str, error: BaseException) -> NoReturn:
        with self._lock:
            self._last_error = message
        raise TransportError(message) from error

    def maintain(self) -> None:
        return None

    def status(self) -> TransportStatus:
        with self._lock:
            return TransportStatus(
                kind=self.kind,
                connected=self._client is not None,
                last_error=self._last_error,
                connect_failures=self._failures,
            )

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()
