"""The attribute adapter: the shipped network on real crops, read once or averaged with the mirror image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from anonflow.edge.attributes import load_attribute_model
from anonflow.edge.config import CameraChainConfig
from anonflow.edge.modelfiles.registry import default_model


@pytest.fixture(scope="module")
def crops(video_dir: Path) -> np.ndarray:
    """Three real frames of the one-by-one video cut to the classifier's size (any pixels will do here)."""
    import cv2

    from anonflow.models.frames import sample_frames

    frames = sample_frames(video_dir / "one-by-one-person-detection.mp4", 3, 300)
    return np.stack([cv2.resize(f.image[80:380, 360:560], (80, 160)) for f in frames])


def test_flip_average_is_the_mean_of_the_crop_and_its_mirror(model_dir: Path, crops: np.ndarray) -> None:
    plain = load_attribute_model(default_model("attributes"), model_dir)
    flipped = load_attribute_model(default_model("attributes"), model_dir, flip_average=True)
    once, mirror = plain(crops).probabilities, plain(np.ascontiguousarray(crops[:, :, ::-1])).probabilities
    averaged = flipped(crops).probabilities
    np.testing.assert_allclose(averaged, (once + mirror) / 2, atol=1e-6)
    # A control that can fail: the crops are not mirror-symmetric, so averaging changes the reading.
    assert np.abs(averaged - once).max() > 1e-3
    # A crop and its mirror image read the same once averaged.
    np.testing.assert_allclose(
        flipped(np.ascontiguousarray(crops[:, :, ::-1])).probabilities, averaged, atol=1e-6
    )


def test_the_chain_averages_by_default() -> None:
    assert CameraChainConfig().attribute_flip_average is True
    assert CameraChainConfig(attribute_flip_average=False).attribute_flip_average is False
