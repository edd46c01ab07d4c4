"""Download a manifest model into the model directory, refusing any byte that does not match its sha256.

No public download serves the manifest's exact ONNX bytes: the Open Model Zoo publishes OpenVINO IR
(.xml/.bin) and Ultralytics publishes a PyTorch checkpoint, and turning those into the manifest's ONNX
files needs OpenVINO / Ultralytics tooling that anonflow does not ship. So `fetch` downloads from a
mirror: any HTTP(S) location that holds a verified model directory with the manifest's layout (an
organisation's artifact bucket, the Greengrass component's artifact store, a colleague's machine). The
upstream release files are named in the manifest (`upstream`) for whoever makes the conversion.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from anonflow.contract.errors import InputError, ModelFileError
from anonflow.edge.modelfiles.registry import ModelSpec, resolve

MIRROR_ENV = "ANONFLOW_MODEL_MIRROR"
_BLOCK = 1 << 20


def mirror_url(mirror: str, spec: ModelSpec) -> str:
    return f"{mirror.rstrip('/')}/{spec.file}"


def fetch(spec: ModelSpec, directory: Path, mirror: str | None, timeout_s: float = 30.0) -> Path:
    """The verified path of `spec`'s file in `directory`, downloading it from the mirror if absent or bad."""
    if spec.derived_from:
        raise InputError(f"{spec.name} is made locally, not downloaded: {spec.source}")
    try:
        return resolve(spec, directory)
    except ModelFileError:
        pass  # absent or bad: download it
    mirror = mirror or os.environ.get(MIRROR_ENV)
    if not mirror:
        upstream = " and ".join(spec.upstream) or spec.url
        raise ModelFileError(
            f"no mirror for {spec.name}: no public download has the manifest's ONNX bytes (the upstream "
            f"release {upstream} must be converted to ONNX first, see models/README.md); pass --mirror URL "
            f"or set {MIRROR_ENV} to a location holding a verified model directory"
        )
    return download(mirror_url(mirror, spec), directory / spec.file, spec.sha256, timeout_s)


def download(url: str, target: Path, sha256: str, timeout_s: float) -> Path:
    """Stream `url` into `target` via a partial file, keeping it only if its sha256 matches."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response, partial.open("wb") as out:
            while block := response.read(_BLOCK):
                digest.update(block)
                out.write(block)
    except urllib.error.HTTPError as error:
        partial.unlink(missing_ok=True)
        raise ModelFileError(f"cannot download {url}: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        partial.unlink(missing_ok=True)
        reason = getattr(error, "reason", error)
        raise ModelFileError(f"cannot download {url}: {reason} (no network or mirror down?)") from None
    if digest.hexdigest() != sha256:
        partial.unlink(missing_ok=True)
        raise ModelFileError(
            f"download from {url} does not match the manifest (expected sha256 {sha256}, "
            f"got {digest.hexdigest()}); nothing was written"
        )
    shutil.move(partial, target)
    return target
