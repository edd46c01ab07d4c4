"""Job options: every mistake is one line naming the option (exit code 2), before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from anonflow.cli.main import main
from anonflow.dataflow.options import AnonflowOptions, JobConfig

ENTRY = Path(__file__).parent / "builders.py"  # any existing non-empty file will do as an input


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--k-anonymity", "0"], "--k_anonymity: Input should be greater than or equal to 2"),
        (["--k-anonymity", "1"], "--k_anonymity: Input should be greater than or equal to 2"),
        (["--dwell_min_support=1"], "--dwell_min_support: Input should be greater than or equal to 2"),
        (["--dp-epsilon", "-1"], "--dp_epsilon: Input should be greater than 0"),
        (["--dp-epsilon", "0"], "--dp_epsilon: Input should be greater than 0"),
        (["--dp-epsilon", "1e6"], "--dp_epsilon: Input should be less than or equal to 10"),
        (["--dp-epsilon", "1", "--dp_table_split=footfall=1"], "--dp_table_split: table split: no share for"),
        (
            ["--dp-epsilon", "1", "--dp_granularity_split=5m=0.5,1h=0.4,1d=0.2"],
            "shares must sum to 1, got 1.1",
        ),
        (["--dp_max_cells=5m=1,1h=1,1d=1"], "--dp_max_cells need --dp_epsilon"),
        (["--dp-epsilon", "1"], "needs --stores naming every store's zones and cameras"),
        (["--output=s3://bucket"], "--output s3://bucket is a bucket root: give --dead_letter_output"),
        (["--secret_env_bad"], "ANONFLOW_CELL_KEY_SECRET must be hex"),
        (["--heatmap_grid=1"], "--heatmap_grid: Input should be greater than or equal to 2"),
        (["--allowed_lateness_s=soon"], "--allowed_lateness_s: Input should be a valid number"),
        (["--input=kinesis://"], "--input=kinesis://... needs a stream name"),
        (["--input=pubsub://my-topic"], "needs projects/<p>/subscriptions/<s> or projects/<p>/topics/<t>"),
        (["--kinesis_start=NOW"], "--kinesis_start: Input should be 'TRIM_HORIZON' or 'LATEST'"),
        (
            ["--kinesis_discovery_interval_s=0"],
            "--kinesis_discovery_interval_s: Input should be greater than 0",
        ),
        (["--stores", "{tmp}/none.yaml"], "stores file {tmp}/none.yaml does not exist"),
        (["--stores", "{bad_stores}"], "stores.0.time_zone: unknown IANA time zone 'Mars/Base'"),
    ],
)
def test_mistakes_are_one_line(
    argv: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if argv == ["--secret_env_bad"]:  # a malformed deployment secret is a one-line error too
        monkeypatch.setenv("ANONFLOW_CELL_KEY_SECRET", "not-hex")
        argv = []
    bad_stores = tmp_path / "stores.yaml"
    bad_stores.write_text("stores:\n  - {store_id: s1, time_zone: Mars/Base}\n")
    values = {"tmp": tmp_path, "bad_stores": bad_stores}
    full = ["pipeline", "--input", str(ENTRY), "--output", str(tmp_path / "out")]
    full += [a.format(**values) for a in argv]  # a later --input wins
    assert main(full) == 2
    err = capsys.readouterr().err
    assert err.startswith("anonflow pipeline: error: ")
    assert message.format(**values) in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()  # nothing written before the options are known good


@pytest.mark.parametrize(
    ("given", "source", "stream"),
    [
        ("s3://raw/entries/", "files", "raw/entries/"),
        ("kinesis://anonflow-prod-entries", "kinesis", "anonflow-prod-entries"),
        ("pubsub://projects/p/subscriptions/s", "pubsub", "projects/p/subscriptions/s"),
    ],
)
def test_the_input_scheme_names_the_source(given: str, source: str, stream: str) -> None:
    config = JobConfig(input=given, output="out")
    assert (config.source, config.stream) == (source, stream)


@pytest.mark.parametrize(
    ("output", "dead_letter_output", "operators"),
    [
        ("out/tables", None, "out/operators"),
        ("out/tables/", None, "out/operators"),
        ("tables", None, "./operators"),
        ("s3://bucket/tables/", None, "s3://bucket/operators"),
        ("s3://bucket/tables/", "s3://ops-bucket/dead/", "s3://ops-bucket/dead/"),
    ],
)
def test_dead_letters_go_beside_the_tables_never_among_them(
    output: str, dead_letter_output: str | None, operators: str
) -> None:
    config = JobConfig(input="in", output=output, dead_letter_output=dead_letter_output)
    assert config.operators_output == operators


def test_beam_options_are_generated_from_the_config() -> None:
    from apache_beam.options.pipeline_options import PipelineOptions

    options = PipelineOptions(["--output=o", "--input=i", "--kinesis_stop_at_latest", "--k_anonymity=5"])
    config = JobConfig.from_options(options)
    assert (config.k_anonymity, config.kinesis_stop_at_latest, config.allowed_lateness_s) == (5, True, 3600.0)
    assert set(options.view_as(AnonflowOptions).get_all_options()) >= set(JobConfig.model_fields)
