"""The model manifest and the model directory: which files anonflow runs, and proof they are intact."""

from __future__ import annotations

import os
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from anonflow.contract.errors import InputError, ModelFileError
from anonflow.edge.modelfiles.converted import check_converted, has_converted_sidecar
from anonflow.edge.modelfiles.derived import check_derived
from anonflow.edge.modelfiles.hashing import sha256_of, verified
from anonflow.edge.modelfiles.spec import (
    Conversion,
    DynamicAxis,
    ModelSpec,
    ReferenceOutput,
    Role,
    UpstreamFile,
)

MODEL_DIR_ENV = "ANONFLOW_MODEL_DIR"


@cache
def manifest() -> tuple[ModelSpec, ...]:
    """All models the product knows, in manifest order."""
    text = resources.files("anonflow.edge.modelfiles").joinpath("manifest.toml").read_text(encoding="utf-8")
    rows = tomllib.loads(text)["model"]
    specs = tuple(
        ModelSpec(
            **{
                **row,
                "outputs": tuple(row["outputs"]),
                "labels": tuple(row.get("labels", ())),
                "upstream": tuple(UpstreamFile(**f) for f in row.get("upstream", ())),
                "conversion": _conversion(row["conversion"]) if "conversion" in row else None,
            }
        )
        for row in rows
    )
    return check_manifest(specs)


def check_manifest(specs: tuple[ModelSpec, ...]) -> tuple[ModelSpec, ...]:
    """The rows, after checking the rules no release may break: a copyleft model or a derived one (whose
    licence is that of the data or frames it was made from, e.g. a classifier trained on a research-only
    benchmark) is never a default; release files carry a sha256."""
    originals = {s.name for s in specs if not s.derived_from}
    for spec in specs:
        if spec.default and spec.copyleft:
            raise AssertionError(f"manifest marks copyleft model {spec.name} as a default")
        if spec.derived_from and (spec.default or spec.sha256 or spec.derived_from not in originals):
            raise AssertionError(f"derived model {spec.name}: needs a manifest parent, no sha256, no default")
        if not spec.derived_from and len(spec.sha256) != 64:
            raise AssertionError(f"manifest model {spec.name} has no sha256")
        if any(len(f.sha256) != 64 for f in spec.upstream) or (spec.conversion and not spec.upstream):
            raise AssertionError(f"manifest model {spec.name}: a conversion needs upstream files with sha256")
    return specs


def _conversion(raw: dict[str, Any]) -> Conversion:
    return Conversion(
        input_name=raw["input_name"],
        dynamic_axes=tuple(
            DynamicAxis(int(axis), name) for axis, name in raw.get("dynamic_axes", {}).items()
        ),
        probe_shape=tuple(raw["probe_shape"]),
        tolerance=float(raw["tolerance"]),
        reference=tuple(
            ReferenceOutput(
                output=ref["output"],
                shape=tuple(ref["shape"]),
                mean=float(ref["mean"]),
                std=float(ref["std"]),
                samples=tuple(float(v) for v in ref["samples"]),
            )
            for ref in raw["reference"]
        ),
    )


def spec(name: str, role: Role | None = None) -> ModelSpec:
    """The manifest row called `name`; a clear error listing the known names otherwise."""
    for row in manifest():
        if row.name == name and (role is None or row.role == role):
            return row
    known = ", ".join(r.name for r in manifest() if role is None or r.role == role)
    kind = f"{role} model" if role else "model"
    raise InputError(f"unknown {kind} {name!r}; known: {known}")


def default_model(role: Role) -> ModelSpec:
    """The permissive default model for a role."""
    return next(r for r in manifest() if r.role == role and r.default)


def model_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The model directory: the explicit setting, else $ANONFLOW_MODEL_DIR."""
    raw = explicit if explicit is not None else os.environ.get(MODEL_DIR_ENV)
    if not raw:
        raise ModelFileError(f"no model directory: pass --model-dir or set {MODEL_DIR_ENV}")
    path = Path(raw).expanduser()
    if not path.is_dir():
        raise ModelFileError(f"model directory {path} does not exist or is not a directory")
    return path


def resolve(model: ModelSpec, directory: Path) -> Path:
    """Path of the model's file, after checking it exists and matches the manifest's sha256 (or, for a file
    converted here from the upstream release, its conversion sidecar)."""
    path = directory / model.file
    if model.derived_from:
        check_derived(model, spec(model.derived_from), path)
        return path
    how = f"obtain it from {model.url} (or `anonflow models fetch {model.name}`)"
    if not path.is_file():
        raise ModelFileError(
            f"model file {path} for {model.name} is missing (expected sha256 {model.sha256}); {how}"
        )
    stat = path.stat()
    if verified(path, stat.st_size, stat.st_mtime_ns, model.sha256):
        return path
    if model.conversion is not None and has_converted_sidecar(path):
        check_converted(model, path)  # converted here from the upstream release, proved by its outputs
        return path
    raise ModelFileError(
        f"model file {path} does not match the manifest (expected sha256 {model.sha256}, "
        f"got {sha256_of(path)}); replace it: {how}"
    )
