"""`anonflow pipeline --help` lists every option the job takes, grouped, from the real definitions."""

from __future__ import annotations

import sys

import pytest

from anonflow.cli.main import main
from anonflow.cli.pipeline_help import GROUP_TITLES
from anonflow.dataflow.options import GROUPS, JobConfig


def _help(capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(["pipeline", "--help"])
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.out, captured.err


def test_every_job_option_is_listed_in_its_group(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _help(capsys)

    assert code == 0
    titles = [GROUP_TITLES[g] for g in GROUPS]
    positions = [out.index(f"\n{title}:\n") for title in titles]
    assert positions == sorted(positions)  # groups in their order
    for name, field in JobConfig.model_fields.items():
        group = field.json_schema_extra["group"]  # type: ignore[index]
        start = out.index(f"\n{GROUP_TITLES[group]}:\n")
        end = out.index("\n\n", start + 1)
        assert f"--{name}" in out[start:end], f"--{name} not under {group}"


@pytest.mark.parametrize(
    "option",
    [
        "--runner",
        "--streaming",
        "--direct_num_workers",
        "--job_endpoint",
        "--environment_type",
        "--flink_master",
        "--project",
        "--temp_location",
        "--s3_endpoint_url",
        "--k-anonymity",
    ],
)
def test_runner_options_come_from_beam(capsys: pytest.CaptureFixture[str], option: str) -> None:
    _, out, _ = _help(capsys)
    assert f"  {option} " in out or f", {option} " in out or f"  {option}\n" in out


def test_every_field_names_a_group() -> None:
    for name, field in JobConfig.model_fields.items():
        extra = field.json_schema_extra
        assert isinstance(extra, dict) and extra.get("group") in GROUPS, name


def test_without_beam_help_is_one_line_naming_the_extra(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "apache_beam.options", None)  # plays an install without the extra

    code, out, err = _help(capsys)

    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "anonflow[dataflow]" in err
