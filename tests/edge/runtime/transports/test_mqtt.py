"""MQTT5 with mutual TLS against a real mosquitto that requires client certificates.

The broker (conftest `broker`) listens on 127.0.0.1 with `require_certificate true`; its CA, server
and client certificates are generated per test. The gateway side is the awsiot SDK's MQTT5 client.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import ssl
import time
from pathlib import Path

import pytest

from anonflow.edge.runtime.transports.base import TransportError
from anonflow.edge.runtime.transports.mqtt import MqttTransport
from tests.kit.broker import DevBroker, KeyPair, issue, make_authority
from tests.kit.rehearsal import rehearse_outage
from tests.kit.synthetic import synthetic_line

TOPIC = "anonflow/v1/store1/cam1/entries"
# MQTT 3.1.1 CONNECT with client id "x": what any client sends first once TLS is up.
CONNECT = bytes([0x10, 13, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 60, 0, 1]) + b"x"


def mqtt(broker: DevBroker, pair: KeyPair) -> MqttTransport:
    return MqttTransport(
        endpoint="127.0.0.1",
        port=broker.port,
        certificate=pair.cert,
        private_key=pair.key,
        ca=broker.ca.pem,
        client_id="gw1",
        reconnect_min_s=0.2,
        reconnect_max_s=1.0,
    )


def test_a_client_without_a_certificate_gets_no_session(broker: DevBroker) -> None:
    context = ssl.create_default_context(cafile=str(broker.ca.pem))
    answer = b""
    with (
        socket.create_connection(("127.0.0.1", broker.port), timeout=5) as raw,
        pytest.raises((ssl.SSLError, ConnectionError)),
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(CONNECT)
        answer = tls.recv(4)  # TLS 1.3 reports the missing certificate on the first read
        if not answer:
            raise ConnectionError("closed without a CONNACK")
    assert not answer.startswith(b"\x20"), "the broker must never send a CONNACK"


def test_a_certificate_from_another_authority_is_refused_with_a_clear_line(
    broker: DevBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = make_authority(tmp_path, "stranger-ca")
    pair = issue(stranger, tmp_path, "intruder")

    with caplog.at_level(logging.ERROR, logger="anonflow.edge.runtime.transports.mqtt"):
        transport = mqtt(broker, pair)
        connected = transport.wait_ready(3.0)
        status = transport.status()
        with pytest.raises(TransportError, match="TLS refused"):
            transport.publish(TOPIC, synthetic_line(0), timeout_s=2)
        transport.close()

    assert not connected
    assert not status.connected and status.connect_failures >= 1
    assert "TLS refused" in (status.last_error or "")
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    refused = [m for m in lines if f"127.0.0.1:{broker.port} failed: AWS_IO_TLS_ERROR_" in m]
    # One error line per distinct failure, not one per retry (the client retried several times).
    assert status.connect_failures >= 2
    assert 1 <= len(refused) <= 2 and all(
        "TLS refused: check that the client certificate" in m for m in refused
    )


def test_an_expired_certificate_is_named_in_the_log_and_in_health(
    broker: DevBroker, caplog: pytest.LogCaptureFixture
) -> None:
    now = dt.datetime.now(dt.UTC)
    expired = broker.client(
        "old-gateway", valid_from=now - dt.timedelta(days=30), valid_to=now - dt.timedelta(days=1)
    )

    with caplog.at_level(logging.ERROR, logger="anonflow.edge.runtime.transports.mqtt"):
        transport = mqtt(broker, expired)
        connected = transport.wait_ready(2.0)
        status = transport.status()
        transport.close()

    assert not connected
    assert status.certificate_expires_in_s is not None and status.certificate_expires_in_s < -80_000
    assert any(f"client certificate {expired.cert} expired on" in r.getMessage() for r in caplog.records)


def test_a_valid_certificate_connects_and_reports_its_remaining_validity(broker: DevBroker) -> None:
    transport = mqtt(broker, broker.client("gw1"))
    try:
        assert transport.wait_ready(10.0)
        status = transport.status()
        assert status.connected and status.last_error is None
        assert status.certificate_expires_in_s is not None and status.certificate_expires_in_s > 6 * 86_400
    finally:
        transport.close()


def test_broker_outage_loses_nothing_and_keeps_each_camera_in_order(tmp_path: Path) -> None:
    # 100 entries/s over two cameras; the broker is down for 3 s in the middle and then restarted.
    report = rehearse_outage(tmp_path, rate_per_s=100, cameras=2, before_s=1.0, outage_s=3.0, after_s=1.0)

    assert report.sent > 400
    assert report.peak_depth > 200, "the outage must really have held entries back"
    assert report.lost == 0, report.line()
    assert report.received == report.sent
    assert report.out_of_order == 0
    # At-least-once: a few repeats are allowed (the dataflow drops them by entry id), a flood is not.
    assert report.duplicates <= 50


def test_publish_waits_for_the_puback(broker: DevBroker) -> None:
    transport = mqtt(broker, broker.client("gw1"))
    try:
        assert transport.wait_ready(10.0)
        started = time.monotonic()
        transport.publish(TOPIC, synthetic_line(0), timeout_s=5)
        assert time.monotonic() - started < 5
        broker.stop()
        with pytest.raises(TransportError):
            transport.publish(TOPIC, synthetic_line(1), timeout_s=2)
    finally:
        transport.close()
