"""The sidecar contract, proved locally: the job runs through Beam's PortableRunner against an external
worker pool, as it runs on Flink with the worker pool as a sidecar of each task manager, and writes the
same tables as the DirectRunner.

The test starts the pool itself (`apache_beam.runners.worker.worker_pool_main`, what the sidecar image
runs) and points the job at it with `--environment_type=EXTERNAL --environment_config=localhost:PORT`;
`--job_endpoint=embed` runs Beam's portable job service in-process (no Flink job server jar here).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import boto3
import pyarrow.parquet as pq
import pytest

from anonflow.contract.tables import ALL_TABLES
from anonflow.dataflow.pipeline import run as run_job
from tests.dataflow.builders import PROCESSING_2024

REGION = "eu-central-1"
# A fixed cell-key secret: both runs perturb the same way, so their tables can be compared.
SECRET = "5e" * 32


@pytest.fixture(autouse=True)
def _cell_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANONFLOW_CELL_KEY_SECRET", SECRET)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Pool(NamedTuple):
    """A running worker pool: its address for --environment_config, and its log."""

    address: str
    log: Path

    def started_workers(self) -> int:
        return self.log.read_text(errors="replace").count("Starting worker with command")


@pytest.fixture(scope="module")
def worker_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pool]:
    """A Beam Python worker pool on a free port, the process the sidecar container runs."""
    port = _free_port()
    log = tmp_path_factory.mktemp("pool") / "pool.log"
    env = {
        **os.environ,
        # The pool starts each SDK worker as `python`: this interpreter, with anonflow installed.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        # Dummy credentials for the local moto server only.
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        # The deployment's secret, as the sidecar's launcher sets it: the workers read it themselves
        # (it is not in the job graph the runner receives) and must hold the driver's.
        "ANONFLOW_CELL_KEY_SECRET": SECRET,
    }
    with log.open("wb") as sink:
        pool = subprocess.Popen(
            [sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main", f"--service_port={port}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        else:
            raise AssertionError("the worker pool did not start listening")
        yield Pool(f"localhost:{port}", log)
    finally:
        pool.terminate()
        pool.wait(timeout=30)


def _portable(pool: Pool) -> list[str]:
    return [
        "--runner=PortableRunner",
        "--job_endpoint=embed",
        "--environment_type=EXTERNAL",
        f"--environment_config={pool.address}",
    ]


def _tables(root: Path) -> dict[str, list[str]]:
    """Every table's rows with their partition, sorted, as comparable text."""
    out: dict[str, list[str]] = {}
    for table in ALL_TABLES:
        if table.name == "dead_letter":
            continue  # received_at is the wall clock of each run
        rows = []
        for path in sorted((root / table.name).glob("store_id=*/date=*/*.parquet")):
            partition = str(path.parent.relative_to(root / table.name))
            rows += [
                json.dumps([partition, row], sort_keys=True, default=str)
                for row in pq.read_table(path).to_pylist()
            ]
        out[table.name] = sorted(rows)
    return out


TINY = {"visitors": 16, "staff": 0, "open_hour": 10, "close_hour": 11, "fps": 1.0}
"""About 3,000 entries: every table has rows above k = 2, and each run takes seconds."""


@pytest.fixture(scope="module")
def direct(
    storeday: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Any, dict[str, list[str]]]:
    """The tiny day as files, and the DirectRunner's tables of it (what every portable run must match)."""
    root = tmp_path_factory.mktemp("portable")
    day = storeday.generate(storeday.StoreDayConfig(seed=4, bad_lines=3, **TINY))
    storeday.write(day, root / "day")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ANONFLOW_CELL_KEY_SECRET", SECRET)
        run_job([*_files(root), f"--output={root / 'direct'}"])
    expected = _tables(root / "direct")
    assert sum(len(rows) for rows in expected.values()) > 10
    return root, day, expected


def _files(root: Path) -> list[str]:
    return [
        f"--input={root / 'day' / 'entries'}",
        f"--stores={root / 'day' / 'stores.yaml'}",
        "--k_anonymity=2",
        PROCESSING_2024,
    ]


@pytest.mark.timeout(300)
def test_batch_job_on_the_worker_pool_writes_the_direct_runners_tables(
    worker_pool: Pool, direct: tuple[Path, Any, dict[str, list[str]]]
) -> None:
    root, _, expected = direct
    before = worker_pool.started_workers()
    portable = run_job([*_files(root), f"--output={root / 'portable'}", *_portable(worker_pool)])
    assert _tables(root / "portable") == expected
    assert portable.counters["entries_valid"] > 0
    assert worker_pool.started_workers() > before  # the pool, not the runner's own process, did the work


@pytest.mark.timeout(300)
def test_streaming_job_from_kinesis_on_the_worker_pool_writes_the_same_tables(
    worker_pool: Pool,
    moto_endpoint: str,
    aws_env: dict[str, str],
    direct: tuple[Path, Any, dict[str, list[str]]],
) -> None:
    """The deployed arrangement: streaming, the Kinesis splittable DoFn on the worker pool, read to the
    latest record; the day's final pane equals the batch run's tables."""
    root, day, expected = direct
    before = worker_pool.started_workers()
    kinesis = boto3.client("kinesis", endpoint_url=moto_endpoint, region_name=REGION)
    stream = f"entries-portable-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    entries = [json.loads(line) for line in day.render(0, day.rows).decode().splitlines()]
    for start in range(0, len(entries), 100):
        message = json.dumps({"entries": entries[start : start + 100]})
        kinesis.put_record(StreamName=stream, Data=message.encode(), PartitionKey=str(start))
    streamed = root / "streamed"
    run_job(
        [
            f"--input=kinesis://{stream}",
            f"--kinesis_region={REGION}",
            f"--kinesis_endpoint_url={moto_endpoint}",
            "--kinesis_stop_at_latest",
            f"--stores={root / 'day' / 'stores.yaml'}",
            "--k_anonymity=2",
            PROCESSING_2024,
            "--streaming",
            f"--output={streamed}",
            *_portable(worker_pool),
        ]
    )
    assert _tables(streamed) == expected
    assert worker_pool.started_workers() > before
