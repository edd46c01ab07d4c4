"""The per-crop cost benchmark prints every model's median and ratio, and names a missing file."""

from __future__ import annotations

from pathlib import Path

import pytest

from anonflow.edge.modelfiles.registry import resolve, spec
from bench.attribute_cost import main


def test_prints_each_model_with_its_ratio_to_the_first(
    model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parent = resolve(spec("person-attributes-0230"), model_dir)

    assert main([str(parent), str(parent), "--runs", "3"]) == 0

    out = capsys.readouterr().out
    assert out.count(str(parent)) == 2 and "RATIO" in out and "3 interleaved rounds" in out


def test_a_missing_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nope.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"no such model file: {tmp_path / 'nope.onnx'}"
