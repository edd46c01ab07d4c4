"""A local MQTT broker with mutual TLS, for the runtime tests and the reliability bench (never installed).

It runs Debian's mosquitto on 127.0.0.1 with `require_certificate true`, a private CA, a server
certificate and client certificates made here with `cryptography`, so the gateway's MQTT5 transport
meets the same handshake it meets at IoT Core. Persistence is on, so sessions and their queued
messages survive a stop and restart (the outage the reliability checks rehearse).
"""

from __future__ import annotations

import atexit
import datetime as dt
import getpass
import ipaddress
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from anonflow.contract.errors import InputError

MOSQUITTO_PATHS = ("mosquitto", "/usr/sbin/mosquitto")


@dataclass(frozen=True, slots=True)
class Authority:
    """A certificate authority: its key and self-signed certificate, and where the PEM is written."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    pem: Path


@dataclass(frozen=True, slots=True)
class KeyPair:
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    path.chmod(0o600)


def make_authority(directory: Path, name: str) -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    pem = directory / f"{name}.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Authority(key=key, cert=cert, pem=pem)


def issue(
    authority: Authority,
    directory: Path,
    common_name: str,
    *,
    server: bool = False,
    valid_from: dt.datetime | None = None,
    valid_to: dt.datetime | None = None,
) -> KeyPair:
    """A leaf certificate signed by `authority`; a server one is valid for 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(authority.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from or now - dt.timedelta(hours=1))
        .not_valid_after(valid_to or now + dt.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
    cert = builder.sign(authority.key, hashes.SHA256())
    pair = KeyPair(cert=directory / f"{common_name}.pem", key=directory / f"{common_name}.key")
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, pair.key)
    return pair


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def mosquitto_binary() -> str:
    for candidate in MOSQUITTO_PATHS:
        found = shutil.which(candidate)
        if found:
            return found
    raise InputError("mosquitto is not installed (Debian: apt-get install mosquitto; CI: .ci/system-deps)")


class DevBroker:
    """mosquitto on 127.0.0.1:`port` demanding client certificates from `ca`; start/stop/restart."""

    def __init__(self, directory: Path, *, port: int | None = None) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.ca = make_authority(directory, "anonflow-dev-ca")
        self.server = issue(self.ca, directory, "broker", server=True)
        self.log_path = directory / "mosquitto.log"
        self.config_path = directory / "mosquitto.conf"
        (directory / "data").mkdir(exist_ok=True)
        self.config_path.write_text(
            "\n".join(
                [
                    "per_listener_settings false",
                    f"user {getpass.getuser()}",
                    f"listener {self.port} 127.0.0.1",
                    f"cafile {self.ca.pem}",
                    f"certfile {self.server.cert}",
                    f"keyfile {self.server.key}",
                    "require_certificate true",
                    "use_identity_as_username true",
                    "allow_anonymous false",
                    "persistence true",
                    f"persistence_location {directory / 'data'}/",
                    "autosave_interval 1",
                    "max_queued_messages 1000000",
                    "max_inflight_messages 0",
                    f"log_dest file {self.log_path}",
                    "log_type error",
                    "log_type warning",
                    "log_type notice",
                    "log_type information",
                    "",
                ]
            )
        )
        self._process: subprocess.Popen[bytes] | None = None

    def client(
        self, name: str, *, valid_from: dt.datetime | None = None, valid_to: dt.datetime | None = None
    ) -> KeyPair:
        """A client certificate the broker accepts (or, with `valid_to` in the past, an expired one)."""
        return issue(self.ca, self.directory, name, valid_from=valid_from, valid_to=valid_to)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout_s: float = 10.0) -> None:
        if self.running:
            return
        self._process = subprocess.Popen(
            [mosquitto_binary(), "-c", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # A run that dies before its cleanup must not leave a broker behind.
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"mosquitto exited at start: {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"mosquitto did not listen on port {self.port} within {timeout_s} s: {self.log_tail()}"
        )

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), so persistent sessions and their queues are saved."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_path.exists():
            return ""
        return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class Receiver:
    """An MQTT5 subscriber with a persistent session, recording each message as (topic, payload).

    Its session outlives a broker restart (clean start off, session expiry one hour, broker persistence),
    so messages published while it reconnects are queued for it instead of lost.
    """

    def __init__(self, broker: DevBroker, topic_filter: str, *, client_id: str = "anonflow-receiver") -> None:
        from awscrt import mqtt5
        from awsiot import mqtt5_client_builder

        self._mqtt5 = mqtt5
        pair = broker.client(client_id)
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._connected = threading.Event()
        self._topic_filter = topic_filter
        self._client = mqtt5_client_builder.mtls_from_path(
            endpoint="127.0.0.1",
            port=broker.port,
            cert_filepath=str(pair.cert),
            pri_key_filepath=str(pair.key),
            ca_filepath=str(broker.ca.pem),
            client_id=client_id,
            session_behavior=mqtt5.ClientSessionBehaviorType.REJOIN_ALWAYS,
            session_expiry_interval_sec=3600,
            min_reconnect_delay_ms=100,
            max_reconnect_delay_ms=1000,
            on_publish_received=self._received,
            on_lifecycle_connection_success=lambda _data: self._connected.set(),
            on_lifecycle_disconnection=lambda _data: self._connected.clear(),
        )
        self._client.start()
        if not self._connected.wait(10):
            raise RuntimeError("receiver could not connect to the broker")
        subscribe = mqtt5.SubscribePacket(
            subscriptions=[mqtt5.Subscription(topic_filter=topic_filter, qos=mqtt5.QoS.AT_LEAST_ONCE)]
        )
        self._client.subscribe(subscribe).result(10)

    def _received(self, data: object) -> None:
        packet = data.publish_packet  # type: ignore[attr-defined]
        with self._lock:
            self.messages.append((str(packet.topic), bytes(packet.payload)))

    def snapshot(self) -> list[tuple[str, bytes]]:
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        self._client.stop()
