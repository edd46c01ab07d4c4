"""Runtime test fixtures: a real mosquitto broker with mutual TLS and a recording subscriber."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from awsiot.greengrasscoreipc import model

from tests.kit.broker import DevBroker, Receiver


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[DevBroker]:
    """mosquitto on a free 127.0.0.1 port, TLS with `require_certificate true`, certificates made here."""
    server = DevBroker(tmp_path / "broker")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def receiver(broker: DevBroker) -> Iterator[Receiver]:
    """A subscriber to every anonflow topic, with a session that survives broker restarts."""
    subscriber = Receiver(broker, "anonflow/v1/#")
    yield subscriber
    subscriber.close()


class FakeIpcClient:
    """Stands in for `GreengrassCoreIPCClientV2`: no Greengrass nucleus (and so no IPC socket) exists
    in the test environment. It records each PublishToIoTCore request and answers like the nucleus:
    a completed future, or the error class the nucleus would raise."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_with: list[BaseException] = []
        self.closed = False

    def publish_to_iot_core_async(
        self, *, topic_name: str, qos: str, payload: bytes, content_type: str
    ) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        if self.fail_with:
            future.set_exception(self.fail_with.pop(0))
            return future
        self.requests.append(
            {"topic": topic_name, "qos": qos, "payload": payload, "content_type": content_type}
        )
        future.set_result(model.PublishToIoTCoreResponse())
        return future

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_ipc() -> FakeIpcClient:
    return FakeIpcClient()
