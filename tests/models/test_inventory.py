"""`anonflow models list` and `anonflow models verify` over real model directories."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from anonflow.edge.modelfiles.registry import default_model, manifest, spec

Cli = Callable[..., Any]  # the `cli` fixture: run(*argv) -> Run(code, out, err)


def test_list_shows_every_row_and_marks_copyleft(cli: Cli, writable_models: Path) -> None:
    run = cli("list", "--model-dir", writable_models)

    assert run.code == 0
    lines = {line.split()[0]: line for line in run.out.splitlines()[1:] if line.strip()}
    for row in manifest():
        assert row.name in lines
    assert "AGPL-3.0 (copyleft)" in lines["yolo11n-pose"] and " yes " not in lines["yolo11n-pose"]
    assert lines["openpose-lightweight"].rstrip().endswith("verified")
    assert lines["openpose-lightweight-int8"].rstrip().endswith("missing")
    # A trained classifier has no licence of its own: that of its training data, which its sidecar records
    # (shown instead once a verified file is present; see test_train).
    assert "training data's (see sidecar)" in lines["headfree-demographics"]


def test_list_works_without_a_model_dir(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANONFLOW_MODEL_DIR", raising=False)

    run = cli("list")

    assert run.code == 0
    assert "openpose-lightweight" in run.out


def _corrupt(path: Path) -> None:
    target = path.resolve()
    path.unlink()
    shutil.copyfile(target, path)
    with path.open("r+b") as handle:
        handle.seek(4096)
        handle.write(b"\xff" * 8)


def _remove(path: Path) -> None:
    path.unlink()


POSE = default_model("pose")
YOLO = spec("yolo11n-pose")


@pytest.mark.parametrize(
    ("damage", "names", "code", "expected_line"),
    [
        (None, (), 0, None),
        ((POSE, _remove), (), 1, f"MISSING  {POSE.name}: model file"),
        ((POSE, _corrupt), (), 1, f"BAD      {POSE.name}: model file"),
        ((YOLO, _remove), (), 0, f"absent   {YOLO.name} (optional)"),
        ((YOLO, _remove), (YOLO.name,), 1, f"MISSING  {YOLO.name}"),
        ((YOLO, _corrupt), (), 1, f"BAD      {YOLO.name}"),
    ],
    ids=[
        "all-good",
        "default-missing",
        "default-corrupt",
        "optional-absent",
        "named-missing",
        "optional-corrupt",
    ],
)
def test_verify(
    cli: Cli,
    writable_models: Path,
    damage: tuple[object, Callable[[Path], None]] | None,
    names: tuple[str, ...],
    code: int,
    expected_line: str | None,
) -> None:
    if damage:
        row, how = damage
        how(writable_models / row.file)  # type: ignore[attr-defined]

    run = cli("verify", "--model-dir", writable_models, *names)

    assert run.code == code, run.out + run.err
    if expected_line:
        assert any(line.startswith(expected_line) for line in run.out.splitlines()), run.out
    if code:
        assert "missing or bad" in run.err


def test_verify_lists_unknown_files_without_failing(cli: Cli, writable_models: Path) -> None:
    (writable_models / "pose" / "old-version.onnx").write_bytes(b"onnx")

    run = cli("verify", "--model-dir", writable_models)

    assert run.code == 0
    assert any(line.startswith("unknown") and "old-version.onnx" in line for line in run.out.splitlines())


def test_verify_unknown_name_is_a_one_line_error(cli: Cli, writable_models: Path) -> None:
    run = cli("verify", "--model-dir", writable_models, "openpose-heavy")

    assert run.code == 2
    assert "unknown model 'openpose-heavy'" in run.err
