"""Crash during an outage: the real `anonflow edge` process (real models on a real video, MQTT5 with
mutual TLS to mosquitto) is killed with SIGKILL at random moments while the broker is down, three
times, and restarted each time. Every entry the spool ever held must reach the broker, per camera in
spool order; the spool must end empty.
"""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from anonflow.edge.runtime.batch import unpack
from anonflow.edge.runtime.spool import SPOOL_FILE
from tests.kit.broker import DevBroker, Receiver

KILLS = 3


def spool_rows(spool: Path) -> list[tuple[int, str, str]]:
    """(seq, camera id, entry id) of every spooled entry, read while the gateway is dead or running."""
    if not (spool / SPOOL_FILE).exists():
        return []
    db = sqlite3.connect(spool / SPOOL_FILE, timeout=10)
    try:
        rows = db.execute("SELECT seq, line FROM entries ORDER BY seq").fetchall()
    finally:
        db.close()
    entries = [(int(seq), json.loads(line)) for seq, line in rows]
    return [(seq, entry["camera_id"], entry["entry_id"]) for seq, entry in entries]


def last_seq(spool: Path) -> int:
    db = sqlite3.connect(spool / SPOOL_FILE, timeout=10)
    try:
        row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'entries'").fetchone()
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()
    return int(row[0]) if row else 0


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def delivered(receiver: Receiver) -> list[tuple[str, str]]:
    return [
        (entry["camera_id"], entry["entry_id"])
        for _topic, payload in receiver.snapshot()
        for entry in map(json.loads, unpack(payload))
    ]


def test_sigkill_during_an_outage_loses_nothing(tmp_path: Path, video_dir: Path, model_dir: Path) -> None:
    rng = random.Random(20_260_101)
    broker = DevBroker(tmp_path / "broker")
    broker.start()
    receiver = Receiver(broker, "anonflow/v1/+/+/entries")
    pair = broker.client("gw1")
    spool = tmp_path / "spool"
    config = tmp_path / "gateway.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "store_id": "store1",
                "gateway_id": "gw1",
                "model_dir": str(model_dir),
                "cameras": [
                    {
                        "id": "aisle",
                        "source": str(video_dir / "store-aisle-detection.gif"),
                        "fps": 5,
                        "loop": True,
                    }
                ],
                "transport": {
                    "kind": "mqtt",
                    "endpoint": "127.0.0.1",
                    "port": broker.port,
                    "certificate": str(pair.cert),
                    "private_key": str(pair.key),
                    "ca": str(broker.ca.pem),
                    "ack_timeout_s": 5,
                    "reconnect_min_s": 0.2,
                    "reconnect_max_s": 1.0,
                },
                "spool": {"directory": str(spool)},
                "batch": {"retry_min_s": 0.1, "retry_max_s": 0.5},
                "health": {"interval_s": 1},
            }
        )
    )
    log = (tmp_path / "gateway.log").open("ab")

    def launch() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "anonflow.cli.main", "edge", "--config", str(config)],
            stdout=log,
            stderr=log,
        )

    gateway = launch()
    held: dict[int, tuple[str, str]] = {}  # every (camera, entry id) seen in the spool, by sequence number
    try:
        wait_for(lambda: len(delivered(receiver)) >= 3, 60, "first entries at the broker")
        broker.stop()  # the outage begins

        for kill in range(KILLS):
            before = last_seq(spool)
            wait_for(lambda b=before: last_seq(spool) > b, 60, f"new entries spooled before kill {kill + 1}")
            time.sleep(rng.uniform(0.0, 1.5))
            gateway.send_signal(signal.SIGKILL)
            gateway.wait(10)
            held.update({seq: (camera, entry) for seq, camera, entry in spool_rows(spool)})
            gateway = launch()

        assert len(held) >= 5, "the outage must leave entries in the spool for the test to mean anything"
        wait_for(lambda: last_seq(spool) > max(held), 60, "the last run spooling entries")
        broker.start()  # the outage ends
        wanted = {entry for _, entry in held.values()}
        wait_for(lambda: wanted <= {e for _, e in delivered(receiver)}, 60, "every held entry at the broker")
        wait_for(lambda: not spool_rows(spool), 30, "an empty spool")
        gateway.send_signal(signal.SIGTERM)
        assert gateway.wait(60) == 0
    finally:
        if gateway.poll() is None:
            gateway.kill()
            gateway.wait(10)
        receiver.close()
        broker.stop()
        log.close()

    arrivals = delivered(receiver)
    first_arrival: list[str] = list(dict.fromkeys(entry for _, entry in arrivals))
    held_in_order = [entry for _, (_, entry) in sorted(held.items())]
    # Lost: none. Order: the held entries first arrive in the order they were spooled.
    assert [e for e in first_arrival if e in set(held_in_order)] == held_in_order
    assert all(camera == "aisle" for camera, _ in arrivals)
    assert spool_rows(spool) == []
