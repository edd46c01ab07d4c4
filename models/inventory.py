"""What a model directory holds, row by row of the manifest: verified, missing, or not the right bytes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from anonflow.contract.errors import ModelFileError
from anonflow.edge.modelfiles.derived import DataLicence, data_licence, read_sidecar
from anonflow.edge.modelfiles.registry import ModelSpec, manifest, resolve


class State(StrEnum):
    VERIFIED = "verified"
    MISSING = "missing"
    BAD = "bad"  # present, but the bytes (or a derived model's sidecar) do not match


@dataclass(frozen=True, slots=True)
class FileStatus:
    """One manifest row checked against one model directory; `problem`: why it is not verified;
    `data_licence`: for a verified trained classifier, the licence of the data it learnt from."""

    spec: ModelSpec
    path: Path
    state: State
    problem: str = ""
    data_licence: DataLicence | None = None

    @property
    def required(self) -> bool:
        """Defaults must be present for the product to run; other models are optional."""
        return self.spec.default


def check(spec: ModelSpec, directory: Path) -> FileStatus:
    path = directory / spec.file
    try:
        resolve(spec, directory)
    except ModelFileError as error:
        state = State.BAD if path.is_file() else State.MISSING
        return FileStatus(spec, path, state, str(error))
    # A classifier trained here is bound by its training data's licence (a quantised model is not).
    trained = spec.derived_from and spec.role == "attributes"
    return FileStatus(
        spec, path, State.VERIFIED, data_licence=data_licence(read_sidecar(path)) if trained else None
    )


def inventory(directory: Path, names: tuple[str, ...] = ()) -> list[FileStatus]:
    """Status of every manifest model (or of the named ones) in `directory`, in manifest order."""
    return [check(spec, directory) for spec in manifest() if not names or spec.name in names]


def unknown_files(directory: Path) -> list[Path]:
    """ONNX files in the directory that no manifest row names (left over, or put there by mistake)."""
    known = {directory / spec.file for spec in manifest()}
    return sorted(p for p in directory.rglob("*.onnx") if p not in known)
