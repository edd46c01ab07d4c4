"""Converted models: manifest models made on this machine from their upstream release files.

`anonflow models fetch` converts the Open Model Zoo IR to ONNX and proves the result by its outputs on
the manifest's fixed probe input (conversion is not byte-stable, so the file cannot carry the manifest's
sha256). It then writes a sidecar `<file>.json` naming the row, the upstream files' sha256 (as pinned in
the manifest), the file's own sha256 and the probe result. The registry accepts a converted file only
when all of these agree with the manifest and the bytes on disk: a file converted from another release,
a stale sidecar or a truncated copy is refused. Trust is, as for derived models, trust in whoever may
write the model directory.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from anonflow.contract.errors import ModelFileError
from anonflow.edge.modelfiles.hashing import sha256_of, verified
from anonflow.edge.modelfiles.sidecar import read_record, sidecar_path
from anonflow.edge.modelfiles.spec import ModelSpec

CONVERTED_FORMAT = "anonflow-converted-model/1"


@dataclass(frozen=True, slots=True)
class ConvertedSidecar:
    """The record written next to a converted model file.

    name: the manifest row; sha256: the file's own hash; upstream_sha256: the release files' hashes in
    manifest order; converter: what converted it; max_relative_diff: the probe's largest difference from
    the pinned outputs (in reference standard deviations); created: ISO-8601 UTC; details: free-form facts.
    """

    name: str
    sha256: str
    upstream_sha256: list[str]
    converter: str
    max_relative_diff: float
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    details: dict[str, Any] = field(default_factory=dict)
    format: str = CONVERTED_FORMAT


def converted_sidecar_path(model_file: Path) -> Path:
    return sidecar_path(model_file)


def has_converted_sidecar(model_file: Path) -> bool:
    return converted_sidecar_path(model_file).is_file()


def sidecar_text(sidecar: ConvertedSidecar) -> str:
    return json.dumps(asdict(sidecar), indent=2, sort_keys=True) + "\n"


def read_converted_sidecar(model_file: Path) -> ConvertedSidecar:
    return read_record(model_file, kind="converted", record_format=CONVERTED_FORMAT, record=ConvertedSidecar)


def check_converted(model: ModelSpec, path: Path) -> ConvertedSidecar:
    """The file's sidecar, after checking it names this row and release and matches the file's bytes."""
    sidecar = read_converted_sidecar(path)
    how = f"convert it again: `anonflow models fetch {model.name}`"
    if sidecar.name != model.name:
        raise ModelFileError(f"{path}: sidecar names model {sidecar.name!r}, expected {model.name!r}")
    if model.conversion is None or sidecar.upstream_sha256 != [f.sha256 for f in model.upstream]:
        raise ModelFileError(f"{path} was converted from another release than the manifest names; {how}")
    stat = path.stat()
    if not verified(path, stat.st_size, stat.st_mtime_ns, sidecar.sha256):
        raise ModelFileError(
            f"{path} does not match its sidecar (expected sha256 {sidecar.sha256}, "
            f"got {sha256_of(path)}); {how}"
        )
    return sidecar


def write_converted(model_file: Path, data: bytes, sidecar: ConvertedSidecar) -> None:
    """Write the model and its sidecar so a reader never sees half of either: both go to temporary names
    first; on any failure (e.g. a full disk) both temporaries are removed and the directory is unchanged."""
    sidecar_file = converted_sidecar_path(model_file)
    tmp_model = model_file.with_name(model_file.name + ".part")
    tmp_sidecar = sidecar_file.with_name(sidecar_file.name + ".part")
    try:
        model_file.parent.mkdir(parents=True, exist_ok=True)
        tmp_model.write_bytes(data)
        tmp_sidecar.write_text(sidecar_text(sidecar), encoding="utf-8")
        os.replace(tmp_model, model_file)
        os.replace(tmp_sidecar, sidecar_file)
    except OSError:
        tmp_model.unlink(missing_ok=True)
        tmp_sidecar.unlink(missing_ok=True)
        raise
