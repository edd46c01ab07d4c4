"""Session-wide test setup: where the real models and sample videos are, and small shared fixtures.

Tests run the real networks on real frames. The model and video directories come from
ANONFLOW_MODEL_DIR / ANONFLOW_VIDEO_DIR, defaulting to the ../shared checkout beside the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

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
