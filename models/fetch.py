"""`anonflow models fetch`: a manifest model from its public upstream release, converted and proved here.

For a model with a `conversion` in the manifest (the Open Model Zoo defaults) the upstream IR files are
downloaded (default host: the public Open Model Zoo storage; a mirror swaps the host and keeps the paths)
into the download cache, each checked against its pinned sha256, converted to ONNX by
`anonflow.models.convert`, and proved by the converted model's outputs on the manifest's fixed probe input.
Only then are the model file and its conversion sidecar written, together, into the model directory.

A model without a conversion (the AGPL YOLO row: its upstream is a PyTorch checkpoint whose export needs
Ultralytics' own AGPL tooling) is fetched as its exact ONNX file from a mirror laid out like a model
directory, checked against the manifest's sha256.
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from anonflow.contract.errors import InputError, ModelFileError
from anonflow.edge.modelfiles.converted import ConvertedSidecar, write_converted
from anonflow.edge.modelfiles.registry import ModelSpec, manifest, resolve
from anonflow.edge.modelfiles.spec import Conversion, UpstreamFile
from anonflow.models.convert.ir import ConversionError, parse_ir
from anonflow.models.convert.probe import compare, run_probe
from anonflow.models.convert.to_onnx import PRODUCER, Naming, convert
from anonflow.models.download import Sink, cached, download, open_partial

MIRROR_ENV = "ANONFLOW_MODEL_MIRROR"
CONVERTER = f"{PRODUCER}/1"

# Writes the converted model and its sidecar; tests inject one that fails with ENOSPC (a full disk).
Writer = Callable[[Path, bytes, ConvertedSidecar], None]


@dataclass(frozen=True, slots=True)
class Fetched:
    """What `fetch` did for one model: where the file is, and whether it was already there."""

    spec: ModelSpec
    path: Path
    already_present: bool
    max_relative_diff: float | None = None  # probe result of a fresh conversion


def fetchable_by_default() -> tuple[ModelSpec, ...]:
    """What `fetch --all` fetches: every release model except copyleft ones (those only by name)."""
    return tuple(s for s in manifest() if not s.derived_from and not s.copyleft)


def fetch(
    spec: ModelSpec,
    directory: Path,
    mirror: str | None = None,
    timeout_s: float = 30.0,
    *,
    sink: Sink = open_partial,
    writer: Writer = write_converted,
) -> Fetched:
    """The verified file of `spec` in `directory`, fetched (and converted) if absent or bad."""
    if spec.derived_from:
        raise InputError(f"{spec.name} is made locally, not downloaded: {spec.source}")
    try:
        return Fetched(spec, resolve(spec, directory), already_present=True)
    except ModelFileError:
        pass  # absent or bad: fetch it
    mirror = mirror or os.environ.get(MIRROR_ENV) or None
    if spec.conversion is None:
        return _fetch_exact(spec, directory, mirror, timeout_s)
    files = [cached(f.url, f.sha256, "upstream", mirror, timeout_s, sink=sink) for f in spec.upstream]
    data, diff = _convert_and_prove(spec, spec.conversion, dict(zip(spec.upstream, files, strict=True)))
    target = directory / spec.file
    sidecar = ConvertedSidecar(
        name=spec.name,
        sha256=_sha256_bytes(data),
        upstream_sha256=[f.sha256 for f in spec.upstream],
        converter=CONVERTER,
        max_relative_diff=diff,
        details={"upstream": [f.url for f in spec.upstream], "mirror": mirror or ""},
    )
    try:
        writer(target, data, sidecar)
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise ModelFileError(
                f"no space left in {directory} writing {spec.file} ({len(data)} bytes); nothing was written"
            ) from None
        raise ModelFileError(
            f"cannot write {target}: {error.strerror or error}; nothing was written"
        ) from None
    return Fetched(spec, target, already_present=False, max_relative_diff=diff)


def _convert_and_prove(
    spec: ModelSpec, conversion: Conversion, files: dict[UpstreamFile, Path]
) -> tuple[bytes, float]:
    by_suffix = {Path(f.url).suffix: path for f, path in files.items()}
    if set(by_suffix) != {".xml", ".bin"}:
        raise ConversionError(f"{spec.name}: the manifest's upstream must be one .xml and one .bin file")
    label = by_suffix[".xml"].name
    graph = parse_ir(by_suffix[".xml"].read_bytes(), label)
    naming = Naming(conversion.input_name, {a.axis: a.name for a in conversion.dynamic_axes})
    model = convert(graph, by_suffix[".bin"].read_bytes(), label, naming).model
    data = model.SerializeToString()

    import onnxruntime as ort

    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    result = compare(run_probe(session, conversion), conversion)
    if not result.ok:
        raise ConversionError(
            f"converted {spec.name} does not reproduce the manifest's reference outputs "
            f"({'; '.join(result.problems)}); nothing was written"
        )
    return data, result.max_relative_diff


def _fetch_exact(spec: ModelSpec, directory: Path, mirror: str | None, timeout_s: float) -> Fetched:
    if not mirror:
        raise ModelFileError(
            f"no mirror for {spec.name}: its upstream ({spec.url}) is not converted by anonflow; pass "
            f"--mirror URL or set {MIRROR_ENV} to a location holding a verified model directory"
        )
    url = f"{mirror.rstrip('/')}/{spec.file}"
    return Fetched(spec, download(url, directory / spec.file, spec.sha256, timeout_s), already_present=False)


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
