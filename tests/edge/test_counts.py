"""Every labelled clip counts exactly its people, with the default settings and the real models.

The upper-body case is built from the store aisle: only the top 55 % of each frame is kept, so the
shoppers' hips and legs are below the frame's bottom edge, as under a close camera or behind a counter.
Its per-frame labels (tests/edge/data/store-aisle-upper-body.counts.csv) were counted by hand on those
cropped frames: a person counts when both shoulders are in view. Two shoppers are in view throughout;
the third shows head and shoulder tops at the bottom edge from frame 51 on, too little to crop below the
shoulders, so two tracks is the expected count.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from anonflow.edge.chain import build_chain
from anonflow.edge.config import CameraChainConfig, GateConfig
from anonflow.edge.gate import passes_gate
from anonflow.edge.modelfiles.quantize import INT8_MODEL
from anonflow.edge.modelfiles.registry import default_model
from anonflow.edge.pose.model import load_pose_model

START_MS = 1_795_255_200_000
UPPER_BODY_LABELS = Path(__file__).parent / "data" / "store-aisle-upper-body.counts.csv"
KEEP = 0.55  # of each frame's rows, from the top

Clip = Callable[[str, int], list[npt.NDArray[np.uint8]]]


def upper_body(frames: list[npt.NDArray[np.uint8]]) -> list[npt.NDArray[np.uint8]]:
    return [np.ascontiguousarray(f[: round(f.shape[0] * KEEP)]) for f in frames]


def tracks(chain, frames: list[npt.NDArray[np.uint8]], fps: float) -> set[str]:  # type: ignore[no-untyped-def]
    found: set[str] = set()
    for i, frame in enumerate(frames):
        found |= {e.track_id for e in chain.process(frame, START_MS + round(i * 1000 / fps)).entries}
    return found


@pytest.mark.parametrize(
    ("video", "frames", "fps", "crop", "people"),
    [
        ("store-aisle-detection.gif", 67, 16.7, False, 3),
        ("store-aisle-detection.gif", 67, 16.7, True, 2),
        pytest.param("one-by-one-person-detection.mp4", 1394, 10.0, False, 6, marks=pytest.mark.slow),
    ],
)
def test_each_clip_counts_its_people(  # type: ignore[no-untyped-def]
    make_chain, clip: Clip, video: str, frames: int, fps: float, crop: bool, people: int
) -> None:
    images = clip(video, frames)
    assert len(tracks(make_chain(), upper_body(images) if crop else images, fps)) == people


def test_the_int8_model_the_defaults_prefer_counts_the_same(int8_model_dir: Path, clip: Clip) -> None:
    """Where the gateway has made the int8 pose model, the defaults run it, and the aisle still counts 3."""
    chain = build_chain(CameraChainConfig(), store_id="s", camera_id="c", model_dir=int8_model_dir, threads=2)
    assert chain.producer.pose_model == INT8_MODEL
    assert len(tracks(chain, clip("store-aisle-detection.gif", 67), 16.7)) == 3


def test_the_upper_body_case_needs_the_cut_off_rule(make_chain, clip: Clip) -> None:  # type: ignore[no-untyped-def]
    """Positive control: with whole people only (the gate before cut-off people), nobody is counted."""
    config = CameraChainConfig(gate=GateConfig(accept_cut_off=False))
    assert tracks(make_chain(config), upper_body(clip("store-aisle-detection.gif", 67)), 16.7) == set()


def test_upper_body_frames_are_counted_per_frame(model_dir: Path, clip: Clip) -> None:
    """Per-frame count error on the hand-labelled upper-body frames: the default gate against whole-only."""
    with UPPER_BODY_LABELS.open(newline="") as handle:
        labels = {int(row["frame"]): int(row["count"]) for row in csv.DictReader(handle)}
    pose = load_pose_model(default_model("pose"), model_dir, threads=2)
    images = upper_body(clip("store-aisle-detection.gif", 67))
    errors: dict[str, list[int]] = {"default": [], "whole only": []}
    for index, expected in labels.items():
        poses, _ = pose.infer(images[index])
        width = images[index].shape[1]
        for name, gate in (("default", GateConfig()), ("whole only", GateConfig(accept_cut_off=False))):
            errors[name].append(int(passes_gate(poses, gate, frame_width=width).sum()) - expected)
    mae = {name: float(np.mean(np.abs(e))) for name, e in errors.items()}
    # Measured: 0.38 with the default gate (the third shopper's shoulder tops are missed), 2.3 before.
    assert mae["default"] <= 0.5
    assert mae["whole only"] >= 2.0
