"""The job's own CloudWatch metrics, against a real (moto) CloudWatch endpoint."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3

from anonflow.dataflow.pipeline import run as run_job

NAMESPACE = "Anonflow/test"


def _entry(number: int) -> str:
    return json.dumps(
        {
            "schema_version": 1,
            "entry_id": f"{number:032x}",
            "store_id": "s1",
            "camera_id": "door",
            "track_id": f"{number:016x}",
            "event_time_ms": 1_795_255_200_000 + number * 1000,
            "box": {"x_min": 0.1, "y_min": 0.2, "x_max": 0.3, "y_max": 0.9},
            "foot": {"x": 0.2, "y": 0.9},
            "keypoints": {},
            "demographics": {},
            "appearance_group": number,
            "appearance_groups": 1000,
            "producer": {"version": "0.1.0", "pose_model": "p", "attribute_model": "a"},
        }
    )


def _sum(cloudwatch: object, name: str) -> float:
    now = datetime.now(UTC)
    stats = cloudwatch.get_metric_statistics(  # type: ignore[attr-defined]
        Namespace=NAMESPACE,
        MetricName=name,
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(minutes=5),
        Period=3600,
        Statistics=["Sum"],
    )
    return float(sum(point["Sum"] for point in stats["Datapoints"]))


def test_entries_read_and_dead_letters_reach_cloudwatch(
    moto_endpoint: str, aws_env: dict[str, str], tmp_path: Path
) -> None:
    entries = tmp_path / "entries"
    entries.mkdir()
    (entries / "a.ndjson").write_text("\n".join([_entry(1), _entry(2), "not json", _entry(3)]) + "\n")
    (entries / "b.ndjson").write_text(_entry(4) + "\n" + '{"schema_version": 1}' + "\n")
    result = run_job(
        [
            f"--input={entries}",
            f"--output={tmp_path / 'tables'}",
            "--processing_time=2026-11-22T00:00:00Z",  # the entries' day
            f"--metrics_namespace={NAMESPACE}",
            f"--cloudwatch_endpoint_url={moto_endpoint}",
        ]
    )
    assert result.counters.get("cloudwatch_publish_failures", 0) == 0
    cloudwatch = boto3.client("cloudwatch", endpoint_url=moto_endpoint)
    assert _sum(cloudwatch, "EntriesRead") == 6
    assert _sum(cloudwatch, "DeadLetterEntries") == 2


def test_an_unreachable_cloudwatch_costs_metrics_not_data(aws_env: dict[str, str], tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    entries = tmp_path / "entries"
    entries.mkdir()
    (entries / "a.ndjson").write_text(_entry(1) + "\nbroken\n")
    result = run_job(
        [
            f"--input={entries}",
            f"--output={tmp_path / 'tables'}",
            "--processing_time=2026-11-22T00:00:00Z",  # the entries' day
            f"--metrics_namespace={NAMESPACE}",
            f"--cloudwatch_endpoint_url=http://127.0.0.1:{closed}",
        ]
    )
    assert result.counters["cloudwatch_publish_failures"] >= 1
    assert result.counters["entries_valid"] == 1
    assert result.counters["entries_dead_letter"] == 1
