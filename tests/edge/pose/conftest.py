"""Fixtures for the pose tests: the shared model and video directories, real frames, loaded pose models."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from anonflow.edge.modelfiles.registry import ModelSpec, manifest
from anonflow.edge.pose.model import PoseModel, load_pose_model

_SHARED = Path(__file__).resolve().parents[4] / "shared"

POSE_SPECS: list[ModelSpec] = [spec for spec in manifest() if spec.role == "pose"]

Frame = npt.NDArray[np.uint8]
FrameReader = Callable[[str, int], Frame]


@pytest.fixture(scope="session")
def pose_model_dir() -> Path:
    path = Path(os.environ.get("ANONFLOW_MODEL_DIR", _SHARED / "models"))
    if not path.is_dir():
        pytest.fail(f"model directory {path} not found: set ANONFLOW_MODEL_DIR")
    return path


@pytest.fixture(scope="session")
def pose_video_dir() -> Path:
    path = Path(os.environ.get("ANONFLOW_VIDEO_DIR", _SHARED / "videos"))
    if not path.is_dir():
        pytest.fail(f"video directory {path} not found: set ANONFLOW_VIDEO_DIR")
    return path


@pytest.fixture(scope="session")
def video_frame(pose_video_dir: Path) -> Iterator[FrameReader]:
    """`video_frame(name, index)`: one decoded BGR frame of a sample video, cached for the session.

    Frames are decoded sequentially (seeking in compressed video is not frame-exact); an open reader per
    video continues from where it stopped, so asking for frames in increasing order decodes each once.
    """
    cache: dict[tuple[str, int], Frame] = {}
    readers: dict[str, tuple[cv2.VideoCapture, int]] = {}

    def read(name: str, index: int) -> Frame:
        if (name, index) in cache:
            return cache[(name, index)]
        capture, position = readers.get(name, (None, 0))
        if capture is None or position > index:
            capture, position = cv2.VideoCapture(str(pose_video_dir / name)), 0
        while position <= index:
            ok, frame = capture.read()
            if not ok:
                pytest.fail(f"{name} has no frame {index} (ended at {position})")
            position += 1
        readers[name] = (capture, position)
        cache[(name, index)] = np.asarray(frame, np.uint8)
        return cache[(name, index)]

    yield read
    for capture, _ in readers.values():
        capture.release()


@pytest.fixture(scope="session")
def pose_models(pose_model_dir: Path) -> dict[str, PoseModel]:
    """Loaded pose models by name (two threads), filled on first use so each loads once."""
    return {}


@pytest.fixture(params=POSE_SPECS, ids=[spec.name for spec in POSE_SPECS])
def pose_model(
    request: pytest.FixtureRequest, pose_models: dict[str, PoseModel], pose_model_dir: Path
) -> PoseModel:
    """Each pose model in the manifest in turn: the contract tests run over every one.

    Release models come from the model directory. A derived model (made on the deployment's machine by
    `anonflow models quantize`) is taken from there when made, else made once for the session.
    """
    spec: ModelSpec = request.param
    if spec.name not in pose_models:
        directory = pose_model_dir
        if spec.derived_from and not (pose_model_dir / spec.file).is_file():
            directory = request.getfixturevalue("int8_model_dir")
        pose_models[spec.name] = load_pose_model(spec, directory, threads=2)
    return pose_models[spec.name]


@pytest.fixture(scope="session")
def release_pose_model(pose_model_dir: Path, pose_models: dict[str, PoseModel]) -> Callable[[str], PoseModel]:
    """`release_pose_model(family)`: the manifest's released (not derived) model of a family, loaded once."""

    def get(family: str) -> PoseModel:
        spec = next(s for s in POSE_SPECS if s.family == family and not s.derived_from)
        if spec.name not in pose_models:
            pose_models[spec.name] = load_pose_model(spec, pose_model_dir, threads=2)
        return pose_models[spec.name]

    return get
