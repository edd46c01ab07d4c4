"""Frames sampled from video files: calibration input for quantisation and material for evaluation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from anonflow.contract.errors import InputError


@dataclass(frozen=True, slots=True)
class SampledFrame:
    """One decoded frame: uint8 BGR [H, W, 3] `image`, the `video` it came from and its `index` there."""

    video: str
    index: int
    image: npt.NDArray[np.uint8]


def sample_frames(path: Path, count: int, stride: int | None = None) -> list[SampledFrame]:
    """`count` frames from one video: every `stride`-th from the first, or (stride None) spread evenly.

    Fewer frames come back when the video is shorter; a video that yields none is an InputError.
    """
    from anonflow.edge.video import VideoFile

    if count < 1:
        raise InputError(f"frame count must be at least 1, got {count}")
    if stride is not None and stride < 1:
        raise InputError(f"frame stride must be at least 1, got {stride}")
    video = VideoFile(path)
    step = stride or max(1, video.frame_count // count)
    frames: list[SampledFrame] = []
    for frame in video:
        if frame.index % step == 0:
            frames.append(SampledFrame(path.name, frame.index, frame.image))
            if len(frames) == count:
                break
    if not frames:
        raise InputError(f"video {path} gave no frames")
    return frames


def sample_videos(paths: Sequence[Path], count: int) -> list[SampledFrame]:
    """About `count` frames in all, shared evenly between the videos and spread over each."""
    if not paths:
        raise InputError("no video given")
    if count < len(paths):
        raise InputError(
            f"{count} frames cannot be spread over {len(paths)} videos: ask for at least one each"
        )
    shares = [count // len(paths) + (i < count % len(paths)) for i in range(len(paths))]
    return [frame for path, share in zip(paths, shares, strict=True) for frame in sample_frames(path, share)]
