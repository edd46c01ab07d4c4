"""Expected mistakes end in one clear line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from anonflow.cli.main import main


@pytest.fixture
def not_a_video(tmp_path: Path) -> Path:
    path = tmp_path / "notes.mp4"
    path.write_text("this is text, not video\n")
    return path


@pytest.fixture
def bad_config(tmp_path: Path) -> Path:
    path = tmp_path / "camera.yaml"
    path.write_text("zones:\n  - id: door\n    polygn: [[0, 0], [1, 0], [1, 1]]\n")
    return path


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["analyze", "{tmp}/missing.mp4", "--entries", "{tmp}/e.ndjson"], "does not exist"),
        (["analyze", "{tmp}", "--entries", "{tmp}/e.ndjson"], "is a directory, not a video file"),
        (["analyze", "{not_a_video}", "--entries", "{tmp}/e.ndjson"], "cannot be opened"),
        (
            ["analyze", "{video}", "--entries", "{tmp}/e.ndjson", "--pose-model", "nonesuch"],
            "unknown pose model 'nonesuch'; known: openpose-lightweight, yolo11n-pose",
        ),
        (
            ["analyze", "{video}", "--entries", "{tmp}/e.ndjson", "--start-time", "noon"],
            "not an ISO 8601 time",
        ),
        (
            ["analyze", "{video}", "--entries", "{tmp}/e.ndjson", "--config", "{bad_config}"],
            "zones.0.polygn: unknown key",
        ),
        (
            ["analyze", "{video}", "--entries", "{tmp}/e.ndjson", "--store-id", "a b"],
            "--store-id 'a b' must be",
        ),
        (
            ["analyze", "{video}", "--entries", "{tmp}/e.ndjson", "--model-dir", "{tmp}/none"],
            "model directory",
        ),
        (["pipeline", "--input", "{tmp}/nothing", "--output", "{tmp}/out"], "does not exist"),
        (["pipeline", "--input", "{empty}", "--output", "{tmp}/out"], "holds no entry files"),
        (["query", "SELECT 1", "--db", "{tmp}/none.duckdb"], "does not exist"),
    ],
)
def test_expected_mistakes_are_one_line(
    argv: list[str],
    message: str,
    tmp_path: Path,
    not_a_video: Path,
    bad_config: Path,
    video_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    values = {
        "tmp": tmp_path,
        "not_a_video": not_a_video,
        "bad_config": bad_config,
        "video": video_dir / "people-detection.gif",
        "empty": tmp_path / "empty",
    }
    (tmp_path / "empty").mkdir()
    code = main([part.format(**values) for part in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert message in err
    assert "Traceback" not in err


def test_bad_sql_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import duckdb

    db = tmp_path / "a.duckdb"
    duckdb.connect(str(db)).close()
    assert main(["query", "SELEC nonsense", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("anonflow query: error: query failed:") and len(err.strip().splitlines()) == 1


def test_corrupted_model_names_file_sha_and_remedy(tmp_path: Path, model_dir: Path, video_dir: Path) -> None:
    """Through the real console script: a truncated model file is one line naming file, sha256 and source."""
    (tmp_path / "pose").mkdir()
    (tmp_path / "attributes").mkdir()
    original = model_dir / "pose" / "human-pose-estimation-0001.onnx"
    (tmp_path / "pose" / original.name).write_bytes(original.read_bytes()[:1000])
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "anonflow.cli.main",
            "analyze",
            str(video_dir / "people-detection.gif"),
            "--entries",
            str(tmp_path / "e.ndjson"),
            "--model-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in line
    assert "human-pose-estimation-0001.onnx does not match the manifest" in line
    assert "31b45dd1e302323cc2dbdd82a79a35a80292c39fb03a3c9a0b6e1cfeac10b692" in line
    assert "obtain it from" in line


def test_every_subcommand_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    from anonflow.cli.main import COMMAND_MODULES

    for module in COMMAND_MODULES:
        name = module.rsplit(".", 1)[1]
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0
        assert "usage: anonflow" in capsys.readouterr().out
