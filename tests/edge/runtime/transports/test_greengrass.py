"""The Greengrass IPC transport against a stand-in for the IPC client.

No Greengrass nucleus runs here (there is no IPC socket to connect to), so the `fake_ipc` fixture
records PublishToIoTCore requests and raises the nucleus's own error classes where a test asks.
"""

from __future__ import annotations

from typing import Any

import pytest
from awsiot.greengrasscoreipc import model

from anonflow.contract.errors import InputError
from anonflow.edge.runtime.batch import CONTENT_TYPE
from anonflow.edge.runtime.transports.base import TransportError
from anonflow.edge.runtime.transports.greengrass import SOCKET_ENV, GreengrassTransport, connect_ipc
from tests.kit.synthetic import synthetic_line

TOPIC = "anonflow/v1/store1/cam1/entries"


def test_publish_sends_topic_qos1_and_the_exact_payload(fake_ipc: Any) -> None:
    transport = GreengrassTransport(connect=lambda: fake_ipc)
    payload = synthetic_line(0) + synthetic_line(1)

    transport.publish(TOPIC, payload, timeout_s=5)

    assert fake_ipc.requests == [
        {"topic": TOPIC, "qos": model.QOS.AT_LEAST_ONCE, "payload": payload, "content_type": CONTENT_TYPE}
    ]
    assert model.QOS.AT_LEAST_ONCE == "1"
    transport.close()
    assert fake_ipc.closed


@pytest.mark.parametrize(
    ("error", "message", "reconnects"),
    [
        (
            model.UnauthorizedError(message="denied"),
            "accessControl must allow aws.greengrass#PublishToIoTCore",
            0,
        ),
        (model.ServiceError(message="spooler full"), "ServiceError", 0),
        (ConnectionResetError("socket closed"), "IPC connection to the nucleus failed", 1),
    ],
    ids=["unauthorized", "service-error", "connection-lost"],
)
def test_nucleus_errors_keep_the_batch_and_say_why(
    fake_ipc: Any, error: BaseException, message: str, reconnects: int
) -> None:
    connections = []

    def connect() -> Any:
        connections.append(1)
        return fake_ipc

    transport = GreengrassTransport(connect=connect)
    fake_ipc.fail_with.append(error)

    with pytest.raises(TransportError, match=message):
        transport.publish(TOPIC, synthetic_line(0), timeout_s=5)
    assert message in (transport.status().last_error or "")

    transport.publish(TOPIC, synthetic_line(0), timeout_s=5)  # the retry goes through
    assert len(connections) == 1 + reconnects
    assert transport.status().last_error is None
    assert len(fake_ipc.requests) == 1


def test_outside_greengrass_the_transport_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SOCKET_ENV, raising=False)

    with pytest.raises(
        InputError, match="run as a Greengrass component, or choose transport kind mqtt or local"
    ):
        connect_ipc()
