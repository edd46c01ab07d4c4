"""One contract over every transport: acknowledged payloads arrive whole, in order, on their topic.

Each implementation is paired with its real far side: files on disk (local), a mosquitto broker
requiring client certificates (mqtt), and, as no Greengrass nucleus exists here, a recording stand-in
for the nucleus's IPC client (greengrass).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from anonflow.edge.runtime.batch import unpack
from anonflow.edge.runtime.transports.base import Transport
from anonflow.edge.runtime.transports.greengrass import GreengrassTransport
from anonflow.edge.runtime.transports.local import LocalFilesTransport
from anonflow.edge.runtime.transports.mqtt import MqttTransport
from tests.kit.broker import DevBroker, Receiver
from tests.kit.synthetic import synthetic_line

TOPIC = "anonflow/v1/store1/cam1/entries"
# A transport under test, and a function returning the lines its far side got on TOPIC, in order.
Pair = tuple[Transport, Callable[[], list[bytes]]]


def _local(tmp_path: Path) -> Pair:
    transport = LocalFilesTransport(
        tmp_path / "out", store_id="store1", gateway_id="gw1", max_file_bytes=4_000, roll_interval_s=3600
    )

    def received() -> list[bytes]:
        transport.close()  # finishes the open .part; a reader sees only finished files
        files = sorted((tmp_path / "out").glob("entries-*.ndjson"))
        return [line for f in files for line in unpack(f.read_bytes())]

    return transport, received


def _mqtt(tmp_path: Path) -> Iterator[Pair]:
    broker = DevBroker(tmp_path / "broker")
    broker.start()
    receiver = Receiver(broker, "anonflow/v1/#")
    pair = broker.client("gw1")
    transport = MqttTransport(
        endpoint="127.0.0.1",
        port=broker.port,
        certificate=pair.cert,
        private_key=pair.key,
        ca=broker.ca.pem,
        client_id="gw1",
    )

    def received() -> list[bytes]:
        return [line for topic, payload in receiver.snapshot() if topic == TOPIC for line in unpack(payload)]

    yield transport, received
    transport.close()
    receiver.close()
    broker.stop()


def _greengrass(fake_ipc: Any) -> Pair:
    transport = GreengrassTransport(connect=lambda: fake_ipc)

    def received() -> list[bytes]:
        assert {r["qos"] for r in fake_ipc.requests} == {"1"}, "QoS 1 (at least once)"
        return [line for r in fake_ipc.requests if r["topic"] == TOPIC for line in unpack(r["payload"])]

    return transport, received


@pytest.fixture(params=["local", "mqtt", "greengrass"])
def pair(request: pytest.FixtureRequest, tmp_path: Path, fake_ipc: Any) -> Iterator[Pair]:
    if request.param == "local":
        yield _local(tmp_path)
    elif request.param == "mqtt":
        yield from _mqtt(tmp_path)
    else:
        yield _greengrass(fake_ipc)


def test_acknowledged_payloads_arrive_in_order(pair: Pair) -> None:
    transport, received = pair
    assert transport.wait_ready(10.0)
    payloads = [b"".join(synthetic_line(n) for n in range(start, start + 3)) for start in range(0, 30, 3)]

    for payload in payloads:
        transport.publish(TOPIC, payload, timeout_s=10.0)

    status = transport.status()
    assert status.connected and status.last_error is None
    expected = [synthetic_line(n).rstrip(b"\n") for n in range(30)]
    assert _eventually(received, len(expected)) == expected


def _eventually(received: Callable[[], list[bytes]], count: int) -> list[bytes]:
    import time

    deadline = time.monotonic() + 10
    lines = received()
    while len(lines) < count and time.monotonic() < deadline:
        time.sleep(0.05)
        lines = received()
    return lines
