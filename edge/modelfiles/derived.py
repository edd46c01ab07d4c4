"""Derived models: files made on the deployment's own machine from a manifest model.

A quantised or locally trained model has different bytes after every run, so the manifest cannot hold
its hash. Instead the tool that makes it writes a sidecar `<file>.json` next to it, naming the manifest
row it fills, its parent (name and sha256) and its own sha256. The registry accepts the file only when
all of these agree: a file from another parent version, a truncated copy or a stale sidecar is refused.
Trust in a derived file is trust in whoever can write the model directory, as for every other file there.
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

SIDECAR_FORMAT = "anonflow-derived-model/1"


@dataclass(frozen=True, slots=True)
class Sidecar:
    """The record written next to a derived model file.

    name: the manifest row the file fills; sha256: the file's own hash; parent_name / parent_sha256: the
    manifest model it was made from; made_by: the command; created: ISO-8601 UTC; details: free-form
    facts about how it was made (calibration frames, training set size, held-out accuracy).
    """

    name: str
    sha256: str
    parent_name: str
    parent_sha256: str
    made_by: str
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    details: dict[str, Any] = field(default_factory=dict)
    format: str = SIDECAR_FORMAT


def write_sidecar(model_file: Path, sidecar: Sidecar) -> Path:
    """Write the sidecar next to `model_file` (atomically, so a reader never sees half of it)."""
    path = sidecar_path(model_file)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(asdict(sidecar), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_sidecar(model_file: Path) -> Sidecar:
    return read_record(model_file, kind="derived", record_format=SIDECAR_FORMAT, record=Sidecar)


def check_derived(model: ModelSpec, parent: ModelSpec, path: Path) -> Sidecar:
    """The file's sidecar, after checking it names this row and parent and matches the file's bytes."""
    if not path.is_file():
        raise ModelFileError(f"derived model file {path} for {model.name} is missing; {model.source}")
    sidecar = read_sidecar(path)
    if sidecar.name != model.name:
        raise ModelFileError(f"{path}: sidecar names model {sidecar.name!r}, expected {model.name!r}")
    if (sidecar.parent_name, sidecar.parent_sha256) != (parent.name, parent.sha256):
        raise ModelFileError(
            f"{path}: made from {sidecar.parent_name} sha256 {sidecar.parent_sha256[:12]}..., but the "
            f"manifest's parent is {parent.name} sha256 {parent.sha256[:12]}...; make it again"
        )
    stat = path.stat()
    if not verified(path, stat.st_size, stat.st_mtime_ns, sidecar.sha256):
        raise ModelFileError(
            f"{path} does not match its sidecar (expected sha256 {sidecar.sha256}, got {sha256_of(path)}); "
            "make it again"
        )
    return sidecar


@dataclass(frozen=True, slots=True)
class DataLicence:
    """The licence of the data a trained model learnt from, as its sidecar records (`details.data_licence`).

    text: what the trainer stated (e.g. "PA-100K: academic research only"); commercial_use: whether that
    data may serve a commercial deployment. A sidecar that records nothing reads as non-commercial.
    """

    text: str = "not recorded"
    commercial_use: bool = False

    @property
    def label(self) -> str:
        return f"training data: {self.text}" + ("" if self.commercial_use else " (non-commercial)")


def data_licence(sidecar: Sidecar) -> DataLicence:
    raw = sidecar.details.get("data_licence")
    if not isinstance(raw, dict):
        return DataLicence()
    return DataLicence(str(raw.get("text", "not recorded")), raw.get("commercial_use") is True)


NOT_RECORDED = DataLicence()
