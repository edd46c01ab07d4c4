"""The proof that a converted model computes what the manifest's model computes.

Conversion is not byte-stable: the manifest's ONNX files were written by another converter (other tensor
names, node order and producer fields) and serialisation depends on the `onnx` version, so the converted
file's sha256 cannot equal the manifest's. What must not change is the arithmetic. The manifest therefore
pins, per model, the outputs of its reference ONNX file on one fixed input: each output's shape, mean,
standard deviation and 16 values at evenly spaced positions. The fixed input is a deterministic integer
hash of the element index (no random generator whose stream could change between numpy versions), values
0-255 like a BGR frame. Every weight reaches these outputs, so a wrong, shifted or mis-dequantised weight
moves them far beyond the tolerance (a single changed layer is caught: see the tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from anonflow.edge.modelfiles.spec import Conversion, ReferenceOutput

SAMPLES = 16


def probe_input(shape: tuple[int, ...]) -> npt.NDArray[np.float32]:
    """The fixed input: byte 3 of (index x 2654435761) mod 2^32, as float32 0-255 (Knuth's hash)."""
    index = np.arange(int(np.prod(shape)), dtype=np.uint64)
    return (
        (((index * np.uint64(2654435761)) % np.uint64(1 << 32)) >> np.uint64(24))
        .astype(np.float32)
        .reshape(shape)
    )


def fingerprint(name: str, values: npt.NDArray[np.floating]) -> ReferenceOutput:
    """What the manifest pins of one output."""
    flat = values.astype(np.float64).ravel()
    picks = np.linspace(0, flat.size - 1, SAMPLES).round().astype(np.int64)
    return ReferenceOutput(
        output=name,
        shape=tuple(int(d) for d in values.shape),
        mean=float(flat.mean()),
        std=float(flat.std()),
        samples=tuple(float(v) for v in flat[picks]),
    )


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """How far the converted model's outputs are from the pinned ones: the largest difference over every
    pinned number in units of that output's reference standard deviation, and one line per output that
    is off (empty when the model passes)."""

    max_relative_diff: float
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def run_probe(session: object, conversion: Conversion) -> Mapping[str, npt.NDArray[np.floating]]:
    """Every pinned output of an ONNX Runtime session on the fixed input."""
    inputs = session.get_inputs()  # type: ignore[attr-defined]
    names = [ref.output for ref in conversion.reference]
    values = session.run(names, {inputs[0].name: probe_input(conversion.probe_shape)})  # type: ignore[attr-defined]
    return dict(zip(names, values, strict=True))


def compare(outputs: Mapping[str, npt.NDArray[np.floating]], conversion: Conversion) -> ProbeResult:
    """The converted outputs against the manifest's pins. Differences are measured in units of each output's
    reference standard deviation, so one tolerance fits PAFs of 1e-4 and probabilities of 0.5 alike."""
    worst, problems = 0.0, []
    for ref in conversion.reference:
        got = fingerprint(ref.output, outputs[ref.output])
        if got.shape != ref.shape:
            problems.append(f"{ref.output}: shape {list(got.shape)}, expected {list(ref.shape)}")
            continue
        if not np.isfinite(outputs[ref.output]).all():
            problems.append(f"{ref.output} holds NaN or infinite values")
            worst = float("inf")
            continue
        pinned = np.array([ref.mean, ref.std, *ref.samples])
        measured = np.array([got.mean, got.std, *got.samples])
        diff = float(np.abs(pinned - measured).max()) / max(ref.std, 1e-12)
        worst = max(worst, diff)
        if diff > conversion.tolerance:
            problems.append(
                f"{ref.output} differs from the reference by {diff:.3g} standard deviations "
                f"(tolerance {conversion.tolerance:g})"
            )
    return ProbeResult(worst, tuple(problems))
