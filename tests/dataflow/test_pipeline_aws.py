"""The job against real AWS-compatible endpoints (a local moto server): entries and the stores file from
S3 through Beam's S3 filesystem (S3Options), tables to S3 and to a local directory, and entries from a
Kinesis stream (the gateways' batch messages, as an IoT Core topic rule puts them)."""

from __future__ import annotations

import gzip
import io
import json
from types import ModuleType
from typing import Any

import boto3
import duckdb
import pyarrow.parquet as pq
import pytest

from anonflow.cli.main import main
from anonflow.dataflow.pipeline import run as run_job
from tests.dataflow.builders import PROCESSING_2024

BUCKET = "anonflow-raw"
REGION = "eu-central-1"


@pytest.fixture
def day(storeday: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return storeday.generate(storeday.StoreDayConfig(visitors=20, seed=8, bad_lines=0))


def s3_options(endpoint: str) -> list[str]:
    return [
        f"--s3_endpoint_url={endpoint}",
        "--s3_access_key_id=testing",
        "--s3_secret_access_key=testing",
        f"--s3_region_name={REGION}",
    ]


def test_s3_in_s3_and_local_out(
    moto_endpoint: str,
    aws_env: dict[str, str],
    day: Any,
    storeday: ModuleType,
    tmp_path: Any,
    exact_release: None,
) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    local = tmp_path / "day"
    truth = storeday.write(day, local)
    # Two objects under a nested prefix, as Firehose writes them: one gzip-compressed (under a name that
    # does not say so), one plain. Few objects: every S3 call costs Beam's filesystem a new client.
    files = sorted((local / "entries").rglob("*.ndjson"))
    halves = [b"".join(path.read_bytes() for path in chunk) for chunk in (files[::2], files[1::2])]
    s3.put_object(Bucket=BUCKET, Key="raw/date=2024-05-14/raw-entries-1-a", Body=gzip.compress(halves[0]))
    s3.put_object(Bucket=BUCKET, Key="raw/date=2024-05-14/raw-entries-1-b.ndjson", Body=halves[1])
    s3.put_object(Bucket=BUCKET, Key="config/stores.yaml", Body=(local / "stores.yaml").read_bytes())

    # As the infrastructure's test calls it: the CLI, input from S3, tables to a local directory.
    out = tmp_path / "tables"
    argv = ["pipeline", "--input", f"s3://{BUCKET}/raw/", "--output", str(out), PROCESSING_2024]
    assert main([*argv, f"--stores=s3://{BUCKET}/config/stores.yaml", *s3_options(moto_endpoint)]) == 0
    assert (out / "analytics.duckdb").is_file()
    footfall = pq.read_table(next((out / "footfall").rglob("*.parquet"))).to_pylist()
    whole_day = [r for r in footfall if r["zone_id"] == "*" and r["granularity"] == "1d"]
    assert whole_day[0]["entries"] == truth["persons"]  # every visitor crossed the door once

    # Tables to S3: same rows, under the same partitions.
    result = run_job(
        [
            f"--input=s3://{BUCKET}/raw/",
            f"--output=s3://{BUCKET}/tables",
            f"--stores=s3://{BUCKET}/config/stores.yaml",
            PROCESSING_2024,
            *s3_options(moto_endpoint),
        ]
    )
    assert result.counters["entries_counted"] == truth["unique_entries"]
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="tables/")["Contents"])
    assert "tables/footfall/store_id=store-001/date=2024-05-14/day.parquet" in keys
    assert "tables/footfall/_privacy.json" in keys
    body = s3.get_object(Bucket=BUCKET, Key="tables/footfall/store_id=store-001/date=2024-05-14/day.parquet")
    assert pq.read_table(io.BytesIO(body["Body"].read())).to_pylist() == footfall


@pytest.mark.parametrize("streaming", [False, True], ids=["batch", "streaming"])
def test_kinesis_in(
    moto_endpoint: str, aws_env: dict[str, str], day: Any, tmp_path: Any, streaming: bool, exact_release: None
) -> None:
    """Kinesis as a bounded backfill (batch) and as the streaming job reads it (stopping once caught up)."""
    kinesis = boto3.client("kinesis", endpoint_url=moto_endpoint, region_name=REGION)
    stream = f"entries-{'streaming' if streaming else 'batch'}"
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    entries = [json.loads(line) for line in day.render(0, 1500).decode().splitlines()]
    unique = len({e["entry_id"] for e in entries})
    # One MQTT message per 100 entries, as gateways batch them; records keep the message as their data.
    for start in range(0, len(entries), 100):
        message = json.dumps({"entries": entries[start : start + 100]})
        kinesis.put_record(StreamName=stream, Data=message.encode(), PartitionKey=str(start))
    kinesis.put_record(StreamName=stream, Data=b"not json", PartitionKey="x")
    result = run_job(
        [
            f"--input=kinesis://{stream}",
            f"--s3_region_name={REGION}",  # the stream's region, unless --kinesis_region says otherwise
            f"--kinesis_endpoint_url={moto_endpoint}",
            "--kinesis_stop_at_latest",
            f"--output={tmp_path / 'tables'}",
            PROCESSING_2024,
            *(["--streaming"] if streaming else []),
        ]
    )
    assert result.files == 0
    with duckdb.connect(str(tmp_path / "tables" / "analytics.duckdb"), read_only=True) as db:
        counted = db.execute("SELECT sum(observations) FROM heatmap WHERE granularity = '1d'").fetchone()
    with duckdb.connect(str(tmp_path / "operators" / "dead_letters.duckdb"), read_only=True) as db:
        rejects = db.execute("SELECT reason FROM dead_letter").fetchall()
    assert counted == (unique,)
    assert [r[0][:8] for r in rejects] == ["not JSON"]
    if not streaming:  # the streaming DirectRunner's counters are incomplete (transforms/test_storedays.py)
        assert result.counters["entries_counted"] == unique
        assert result.counters["entries_duplicate"] == len(entries) - unique
