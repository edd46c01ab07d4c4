"""One row of the model manifest: what a model is, where its file lives, how to check it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["pose", "attributes"]


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One manifest row: what a model is, where its file lives inside the model directory, its hash."""

    name: str
    role: Role
    family: str
    file: str
    sha256: str
    licence: str
    default: bool
    source: str
    url: str
    input: str
    outputs: tuple[str, ...]
    labels: tuple[str, ...] = ()
    # A derived model (quantised, or trained on top of another) is made locally, so its bytes differ per
    # run: it has no manifest hash, and a sidecar JSON next to the file names its parent and its own hash.
    derived_from: str = ""
    # Exact upstream release files the manifest's ONNX file was converted from (informational: their
    # bytes are not the manifest file's).
    upstream: tuple[str, ...] = ()

    @property
    def copyleft(self) -> bool:
        """AGPL models may be run on request but are never a default."""
        return self.licence.upper().startswith("AGPL")
