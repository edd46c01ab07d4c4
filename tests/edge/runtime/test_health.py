"""A long outage fills the spool to its bound: the gateway evicts the oldest entries, logs it, and
reports it in the health message (both the alarm field and the running total)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from anonflow.edge.runtime.config import CameraConfig, GatewayConfig
from anonflow.edge.runtime.gateway import Gateway
from anonflow.edge.runtime.spool import Spool
from tests.kit.broker import free_port, issue, make_authority
from tests.kit.synthetic import synthetic_line

BOUND = 256 * 1024  # the smallest bound the configuration allows


def test_a_full_spool_evicts_oldest_and_health_reports_it(
    tmp_path: Path, video_dir: Path, model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The broker has been unreachable long enough to fill the spool to its bound.
    prefill = Spool(tmp_path / "spool", max_bytes=BOUND, max_line_bytes=120_000)
    line = synthetic_line(0, "aisle")
    prefill.put(
        [("anonflow/v1/store1/aisle/entries", synthetic_line(n, "aisle")) for n in range(BOUND // len(line))]
    )
    assert prefill.stats().evicted_entries == 0
    prefill.close()
    authority = make_authority(tmp_path, "ca")
    pair = issue(authority, tmp_path, "gw1")
    config = GatewayConfig(
        store_id="store1",
        gateway_id="gw1",
        model_dir=model_dir,
        cameras=[CameraConfig(id="aisle", source=str(video_dir / "store-aisle-detection.gif"), fps=5)],
        transport={
            "kind": "mqtt",
            "endpoint": "127.0.0.1",
            "port": free_port(),  # nobody listens: the outage goes on
            "certificate": pair.cert,
            "private_key": pair.key,
            "ca": authority.pem,
        },
        spool={"directory": tmp_path / "spool", "max_bytes": BOUND},
        health={"interval_s": 3600},
    )
    gateway = Gateway(config)

    with caplog.at_level(logging.WARNING):
        gateway.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and gateway.health()["spool"]["evicted_total"] < 3:
            time.sleep(0.2)
        message = gateway.publish_health()
        gateway.stop()
        gateway.close()

    assert message["spool"]["evicted_total"] >= 3
    assert message["evicted_entries"] == message["spool"]["evicted_total"], "all since the last report"
    assert message["spool"]["bytes"] <= BOUND
    assert message["spool_depth"] > 200 and message["spool_age_s"] > 0
    assert not message["transport"]["connected"]
    assert any("spool over its 262144-byte bound: evicted" in r.getMessage() for r in caplog.records)
    # The next report counts only what was evicted after this one.
    assert gateway.health()["spool"]["evicted_total"] == message["spool"]["evicted_total"]
