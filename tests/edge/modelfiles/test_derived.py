"""Derived models: the registry accepts a file only when its sidecar names this row, its parent, its bytes."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from anonflow.contract.errors import ModelFileError
from anonflow.edge.modelfiles.derived import Sidecar, read_sidecar, sidecar_path, write_sidecar
from anonflow.edge.modelfiles.registry import resolve, sha256_of, spec

INT8 = spec("openpose-lightweight-int8")
PARENT = spec(INT8.derived_from)


def _make(directory: Path, content: bytes = b"int8 model bytes") -> Path:
    path = directory / INT8.file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    write_sidecar(path, Sidecar(INT8.name, sha256_of(path), PARENT.name, PARENT.sha256, "test"))
    return path


def _rewrite(path: Path, **changes: object) -> None:
    record = json.loads(sidecar_path(path).read_text())
    record.update(changes)
    sidecar_path(path).write_text(json.dumps(record))


def test_a_matching_derived_file_resolves(tmp_path: Path) -> None:
    path = _make(tmp_path)

    assert resolve(INT8, tmp_path) == path
    assert read_sidecar(path).parent_sha256 == PARENT.sha256


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda p: p.write_bytes(b"other bytes"), "does not match its sidecar"),
        (lambda p: _rewrite(p, parent_sha256="0" * 64), "but the manifest's parent is openpose-lightweight"),
        (lambda p: _rewrite(p, parent_name="yolo11n-pose"), "made from yolo11n-pose"),
        (lambda p: _rewrite(p, name="headfree-demographics"), "sidecar names model 'headfree-demographics'"),
        (lambda p: _rewrite(p, format="something/2"), "is not an anonflow-derived-model/1 record"),
        (lambda p: _rewrite(p, extra_field=1), "unexpected fields"),
        (lambda p: sidecar_path(p).write_text("{"), "is unreadable"),
        (lambda p: sidecar_path(p).unlink(), "has no sidecar"),
        (lambda p: p.unlink(), "is missing; made by `anonflow models quantize`"),
    ],
    ids=[
        "bytes",
        "parent-version",
        "parent-name",
        "row-name",
        "format",
        "fields",
        "json",
        "no-sidecar",
        "no-file",
    ],
)
def test_a_derived_file_that_does_not_match_is_refused(
    tmp_path: Path, tamper: Callable[[Path], None], message: str
) -> None:
    path = _make(tmp_path)
    tamper(path)

    with pytest.raises(ModelFileError, match=None) as error:
        resolve(INT8, tmp_path)

    assert message in str(error.value)


def test_sidecar_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    path.write_bytes(b"x")
    sidecar = Sidecar("n", "a" * 64, "p", "b" * 64, "cmd", details={"frames": 3})

    write_sidecar(path, sidecar)

    assert read_sidecar(path) == sidecar
    assert dataclasses.asdict(read_sidecar(path))["details"] == {"frames": 3}
