"""Real models and real frames for the edge tests, loaded once per session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from anonflow.edge.chain import EdgeChain, build_chain
from anonflow.edge.config import CameraChainConfig

ChainFactory = Callable[..., EdgeChain]


@pytest.fixture(scope="session")
def make_chain(model_dir: Path) -> ChainFactory:
    def make(config: CameraChainConfig | None = None, keep_crops: bool = False) -> EdgeChain:
        return build_chain(
            config or CameraChainConfig(),
            store_id="test-store",
            camera_id="test-cam",
            model_dir=model_dir,
            threads=2,
            keep_crops=keep_crops,
        )

    return make


@pytest.fixture(scope="session")
def clip(video_dir: Path) -> Callable[[str, int], list[npt.NDArray[np.uint8]]]:
    """`clip(name, n)`: the first n frames of a sample video, decoded once per session."""
    cache: dict[tuple[str, int], list[npt.NDArray[np.uint8]]] = {}

    def frames(name: str, n: int) -> list[npt.NDArray[np.uint8]]:
        if (name, n) not in cache:
            capture = cv2.VideoCapture(str(video_dir / name))
            out = []
            while len(out) < n:
                ok, frame = capture.read()
                if not ok:
                    break
                out.append(frame)
            capture.release()
            cache[(name, n)] = out
        return cache[(name, n)]

    return frames
