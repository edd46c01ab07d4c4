"""Session-wide test setup: where the real models and sample videos are, and small shared fixtures.

Tests run the real networks on real frames. The model and video directories come from
ANONFLOW_MODEL_DIR / ANONFLOW_VIDEO_DIR, defaulting to the ../shared checkout beside the repository.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def pytest_configure(config: pytest.Config) -> None:
    # Subprocess tests of the CLI inherit these, exactly as a user's shell would provide them.
    os.environ.setdefault("ANONFLOW_MODEL_DIR", str(SHARED / "models"))
    os.environ.setdefault("ANONFLOW_VIDEO_DIR", str(SHARED / "videos"))


@pytest.fixture(scope="session")
def model_dir() -> Path:
    path = Path(os.environ["ANONFLOW_MODEL_DIR"])
    if not path.is_dir():
        pytest.fail(f"model directory {path} not found: set ANONFLOW_MODEL_DIR")
    return path


@pytest.fixture(scope="session")
def video_dir() -> Path:
    path = Path(os.environ["ANONFLOW_VIDEO_DIR"])
    if not path.is_dir():
        pytest.fail(f"video directory {path} not found: set ANONFLOW_VIDEO_DIR")
    return path


@pytest.fixture(scope="session")
def storeday() -> ModuleType:
    """The synthetic store-day generator (bench/storeday/), used by the dataflow and bench tests."""
    import bench.storeday

    return bench.storeday


def link_release_files(source: Path, directory: Path) -> Path:
    """`directory` as a model directory whose release (not derived) model files link to `source`."""
    from anonflow.edge.modelfiles.registry import manifest

    for spec in manifest():
        if not spec.derived_from and (source / spec.file).is_file():
            (directory / spec.file).parent.mkdir(parents=True, exist_ok=True)
            (directory / spec.file).symlink_to(source / spec.file)
    return directory


@pytest.fixture
def writable_models(tmp_path: Path, model_dir: Path) -> Path:
    """A writable model directory whose release files link to the shared ones (derived files go beside)."""
    return link_release_files(model_dir, tmp_path / "models")


@pytest.fixture(scope="session")
def int8_model_dir(tmp_path_factory: pytest.TempPathFactory, model_dir: Path, video_dir: Path) -> Path:
    """The release models (linked) plus the int8 pose model `anonflow models quantize` makes, from 4 frames.

    Made once per session, so every test of a derived model runs it for real instead of skipping.
    """
    from anonflow.models.quantize import quantize_pose

    directory = link_release_files(model_dir, tmp_path_factory.mktemp("int8") / "models")
    videos = (video_dir / "store-aisle-detection.gif", video_dir / "vtest-480x360.avi")
    quantize_pose(directory, videos, frames=4)
    return directory
