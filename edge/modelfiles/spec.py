"""One row of the model manifest: what a model is, where its file lives, how to check it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["pose", "attributes"]


@dataclass(frozen=True, slots=True)
class UpstreamFile:
    """One public release file a manifest model is converted from, and the sha256 it must have."""

    url: str
    sha256: str


@dataclass(frozen=True, slots=True)
class DynamicAxis:
    """An input axis the converted model leaves free (e.g. axis 2 'height')."""

    axis: int
    name: str


@dataclass(frozen=True, slots=True)
class ReferenceOutput:
    """What the manifest pins of one output of the reference model on the fixed probe input:
    its shape, mean, standard deviation and values at evenly spaced flat positions."""

    output: str
    shape: tuple[int, ...]
    mean: float
    std: float
    samples: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Conversion:
    """How the upstream release becomes the manifest's ONNX file, and the proof it did.

    input_name: the ONNX input tensor's name; dynamic_axes: input axes left free; probe_shape: the fixed
    probe input's shape; tolerance: largest difference allowed on any pinned number, in reference
    standard deviations; reference: the pinned outputs (see anonflow.models.convert.probe).
    """

    input_name: str
    dynamic_axes: tuple[DynamicAxis, ...]
    probe_shape: tuple[int, ...]
    tolerance: float
    reference: tuple[ReferenceOutput, ...]


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
    # Exact upstream release files the manifest's ONNX file is converted from (`anonflow models fetch`),
    # and how; a row without `conversion` can only be fetched as its exact ONNX file from a mirror.
    upstream: tuple[UpstreamFile, ...] = ()
    conversion: Conversion | None = None

    @property
    def copyleft(self) -> bool:
        """AGPL models may be run on request but are never a default."""
        return self.licence.upper().startswith("AGPL")
