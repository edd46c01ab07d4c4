"""The outage rehearsal: entries flow spool -> sender -> MQTT5 (mutual TLS) -> a local broker while the
broker goes away and comes back; then every id is accounted for. Used by `bench/reliability.py` (to
measure at a chosen entry rate) and by the runtime tests (to assert zero loss and per-camera order).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from anonflow.edge.runtime.backoff import Backoff
from anonflow.edge.runtime.batch import DEFAULT_MAX_PAYLOAD_BYTES, unpack
from anonflow.edge.runtime.sender import Sender
from anonflow.edge.runtime.spool import Spool
from anonflow.edge.runtime.transports.mqtt import MqttTransport
from tests.kit.broker import DevBroker, Receiver
from tests.kit.synthetic import synthetic_id, synthetic_line

_TICK_S = 0.05  # entries due within one tick are spooled in one commit, as one frame's entries are


@dataclass(frozen=True, slots=True)
class OutageReport:
    """sent: entries spooled; received: distinct entries delivered; lost: sent but never delivered;
    duplicates: deliveries beyond the first; out_of_order: cameras whose first deliveries are not in
    spool order; peak_depth: most entries waiting at once; drain_s: broker restart to all delivered."""

    sent: int
    received: int
    lost: int
    duplicates: int
    out_of_order: int
    peak_depth: int
    drain_s: float

    def line(self) -> str:
        return f"sent {self.sent} received {self.received} lost {self.lost} duplicates {self.duplicates}"


def rehearse_outage(
    workdir: Path,
    *,
    rate_per_s: float,
    cameras: int = 2,
    before_s: float = 1.0,
    outage_s: float = 3.0,
    after_s: float = 1.0,
    drain_timeout_s: float = 60.0,
) -> OutageReport:
    """Produce entries at `rate_per_s` for before+outage+after seconds, with the broker down in the middle."""
    broker = DevBroker(workdir / "broker")
    broker.start()
    receiver = Receiver(broker, "anonflow/v1/+/+/entries")
    pair = broker.client("gateway")
    spool = Spool(workdir / "spool", max_bytes=1024 * 1024 * 1024)
    transport = MqttTransport(
        endpoint="127.0.0.1",
        port=broker.port,
        certificate=pair.cert,
        private_key=pair.key,
        ca=broker.ca.pem,
        client_id="gateway",
        ack_timeout_s=5.0,
        reconnect_min_s=0.2,
        reconnect_max_s=1.0,
    )
    sender = Sender(
        spool,
        transport,
        max_payload_bytes=DEFAULT_MAX_PAYLOAD_BYTES,
        ack_timeout_s=5.0,
        backoff=Backoff(0.1, 0.5),
    )
    produced: dict[str, list[str]] = {f"cam{c}": [] for c in range(cameras)}
    peak = 0
    try:
        transport.wait_ready(10.0)
        sender.start()
        start = time.monotonic()
        total_s = before_s + outage_s + after_s
        n = 0
        restarted_at = 0.0
        while (elapsed := time.monotonic() - start) < total_s:
            if broker.running and before_s <= elapsed < before_s + outage_s:
                broker.stop()
            elif not broker.running and elapsed >= before_s + outage_s:
                broker.start()
                restarted_at = time.monotonic()
            due = int(elapsed * rate_per_s) - n
            items = []
            for _ in range(max(due, 0)):
                camera = f"cam{n % cameras}"
                index = n // cameras
                items.append((f"anonflow/v1/store1/{camera}/entries", synthetic_line(index, camera)))
                produced[camera].append(synthetic_id(camera, index))
                n += 1
            if items:
                spool.put(items)
                sender.wake()
            peak = max(peak, spool.stats().depth)
            time.sleep(_TICK_S)
        if not broker.running:
            broker.start()
            restarted_at = time.monotonic()
        expected = {i for ids in produced.values() for i in ids}
        deadline = time.monotonic() + drain_timeout_s
        while time.monotonic() < deadline:
            if expected <= _delivered_ids(receiver):
                break
            time.sleep(0.1)
        drain_s = time.monotonic() - restarted_at
        time.sleep(0.3)  # let late duplicates land before counting
    finally:
        sender.stop()
        sender.join(10.0)
        transport.close()
        spool.close()
        deliveries = _deliveries(receiver)
        receiver.close()
        broker.stop()
    return _report(produced, deliveries, peak, drain_s)


def _deliveries(receiver: Receiver) -> list[tuple[str, str]]:
    """(camera id, entry id) for every delivered entry line, in arrival order."""
    out = []
    for _topic, payload in receiver.snapshot():
        for line in unpack(payload):
            entry = json.loads(line)
            out.append((str(entry["camera_id"]), str(entry["entry_id"])))
    return out


def _delivered_ids(receiver: Receiver) -> set[str]:
    return {entry_id for _, entry_id in _deliveries(receiver)}


def _report(
    produced: dict[str, list[str]], deliveries: list[tuple[str, str]], peak: int, drain_s: float
) -> OutageReport:
    counts = Counter(entry_id for _, entry_id in deliveries)
    sent = {i for ids in produced.values() for i in ids}
    out_of_order = 0
    for camera, ids in produced.items():
        first_seen: list[str] = []
        seen: set[str] = set()
        for cam, entry_id in deliveries:
            if cam == camera and entry_id not in seen:
                seen.add(entry_id)
                first_seen.append(entry_id)
        if first_seen != [i for i in ids if i in seen]:
            out_of_order += 1
    return OutageReport(
        sent=len(sent),
        received=len(set(counts) & sent),
        lost=len(sent - set(counts)),
        duplicates=sum(c - 1 for c in counts.values()),
        out_of_order=out_of_order,
        peak_depth=peak,
        drain_s=round(drain_s, 2),
    )
