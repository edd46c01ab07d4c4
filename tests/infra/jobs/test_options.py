"""The cloud runners' job options files are valid Beam and anonflow options once rendered."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from apache_beam.options.pipeline_options import (
    FlinkRunnerOptions,
    GoogleCloudOptions,
    PipelineOptions,
    PortableOptions,
    SetupOptions,
    StandardOptions,
)

from anonflow.contract.errors import InputError
from anonflow.dataflow.options import AnonflowOptions
from anonflow.infra.config import REPO_ROOT
from anonflow.infra.jobs.options import job_arguments
from anonflow.infra.jobs.options import main as options_main

JOBS = REPO_ROOT / "infra" / "jobs"
FLINK_VALUES = {
    "entry_stream": "anonflow-dev-entries",
    "tables_bucket": "tables-bkt",
    "operators_bucket": "ops-bkt",
    "region": "eu-west-1",
    "metrics_namespace": "Anonflow/dev",
}
DATAFLOW_VALUES = {
    "project": "my-project",
    "region": "europe-west1",
    "bucket": "my-bkt",
    "operators_bucket": "my-ops-bkt",
    "subscription": "entries",
}
# Options the Flink job server (Java) reads from the pipeline; the Python SDK passes them through.
FLINK_JOB_SERVER_OPTIONS = {"checkpointing_interval"}


def _parse(arguments: list[str], caplog: pytest.LogCaptureFixture) -> PipelineOptions:
    with caplog.at_level(logging.WARNING):
        options = PipelineOptions(arguments)
        options.get_all_options(retain_unknown_options=False)
    return options


def test_flink_options(caplog: pytest.LogCaptureFixture) -> None:
    arguments = job_arguments(JOBS / "flink.yaml", FLINK_VALUES)
    known = [a for a in arguments if a.split("=")[0].lstrip("-") not in FLINK_JOB_SERVER_OPTIONS]
    options = _parse(known, caplog)
    assert "Discarding unparseable args" not in caplog.text
    assert options.view_as(StandardOptions).runner == "FlinkRunner"
    assert options.view_as(StandardOptions).streaming is True
    assert options.view_as(FlinkRunnerOptions).flink_version == "1.20"  # the FLINK-1_20 runtime in infra
    portable = options.view_as(PortableOptions)
    assert portable.environment_type == "PROCESS"
    assert portable.output_executable_path == "build/anonflow-flink.jar"
    assert options.view_as(SetupOptions).setup_file == "pyproject.toml"
    job = options.view_as(AnonflowOptions)
    assert (job.input, job.output) == ("kinesis://anonflow-dev-entries", "s3://tables-bkt/tables/")


def test_dataflow_options(caplog: pytest.LogCaptureFixture) -> None:
    options = _parse(job_arguments(JOBS / "dataflow.yaml", DATAFLOW_VALUES), caplog)
    assert "Discarding unparseable args" not in caplog.text
    cloud = options.view_as(GoogleCloudOptions)
    assert (cloud.project, cloud.region, cloud.temp_location) == (
        "my-project",
        "europe-west1",
        "gs://my-bkt/tmp/",
    )
    assert options.view_as(StandardOptions).runner == "DataflowRunner"
    assert options.view_as(AnonflowOptions).output == "gs://my-bkt/tables/"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({k: v for k, v in FLINK_VALUES.items() if k != "region"}, "give --value for region"),
        ({**FLINK_VALUES, "colour": "blue"}, "no option uses colour"),
    ],
)
def test_missing_or_unused_values(values: dict[str, str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        job_arguments(JOBS / "flink.yaml", values)


def test_options_cli_prints_arguments(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    values = [f"--value={k}={v}" for k, v in DATAFLOW_VALUES.items()]
    assert options_main([str(JOBS / "dataflow.yaml"), *values]) == 0
    assert "--runner=DataflowRunner" in capsys.readouterr().out
    assert options_main([str(tmp_path / "missing.yaml")]) == 2
    assert capsys.readouterr().err.startswith("anonflow.infra.jobs.options: error: job options ")
