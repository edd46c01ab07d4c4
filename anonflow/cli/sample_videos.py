"""Where the demo's sample videos come from: the video directory if it holds them, else the download
cache, filled from each video's public URL (or a mirror folder holding them by name), sha256-checked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from anonflow.cli.samples import SAMPLE_CAMERAS, SampleCamera
from anonflow.contract.errors import InputError
from anonflow.models.download import DownloadError, cache_dir, download

VIDEO_MIRROR_ENV = "ANONFLOW_VIDEO_MIRROR"


@dataclass(frozen=True, slots=True)
class ResolvedSample:
    """One sample camera and its local file; `path` is None when the file is absent and not fetchable."""

    sample: SampleCamera
    path: Path | None


def resolve_samples(
    video_dir: Path | None, mirror: str | None, timeout_s: float = 60.0
) -> list[ResolvedSample]:
    """Every sample camera's local file, downloading the public ones the video directory lacks."""
    mirror = mirror or os.environ.get(VIDEO_MIRROR_ENV) or None
    cache = cache_dir() / "videos"
    resolved = []
    for sample in SAMPLE_CAMERAS:
        local = [d / sample.file for d in (video_dir, cache) if d is not None]
        found = next((p for p in local if p.is_file()), None)
        if found is None and sample.url:
            found = _download(sample, cache, mirror, timeout_s)
        resolved.append(ResolvedSample(sample, found))
    return resolved


def _download(sample: SampleCamera, cache: Path, mirror: str | None, timeout_s: float) -> Path:
    url = f"{mirror.rstrip('/')}/{sample.file}" if mirror else sample.url
    try:
        return download(url, cache / sample.file, sample.sha256, timeout_s, label=sample.file)
    except DownloadError as error:
        raise InputError(
            f"{error}; to supply it by hand, download {sample.url} ({sample.licence}) into {cache} "
            "or into a folder passed as --video-dir"
        ) from None
