"""Fixtures for the model tools: writable model directories, labelled crops, the CLI.

`model_dir`, `video_dir`, `writable_models` and `int8_model_dir` come from tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from anonflow.cli import main as cli_main


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    """Run `anonflow models ...` through the real entry point (only the models command group registered)."""
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("anonflow.cli.models",))

    def run(*argv: str | Path) -> Run:
        capsys.readouterr()
        code = cli_main.main(["models", *map(str, argv)])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@dataclass(frozen=True)
class HarvestedCrop:
    """An anonymous crop as the edge renders it, with what geometry and the attribute model say of it."""

    video: str
    frame: int
    image: Any  # uint8 [160, 80, 3] BGR
    centre_x: float  # crop box centre, frame pixels
    orientation: str  # front / back / side / unknown, from key-point geometry
    male: float  # the person-attributes-0230 teacher's P(male) on the head-free crop


def harvest_crops(directory: Path, video: Path, count: int, stride: int) -> list[HarvestedCrop]:
    """Run the edge's pose model, gate and anonymous crop over `count` frames (every `stride`-th)."""
    import numpy as np

    from anonflow.edge.attributes import load_attribute_model
    from anonflow.edge.config import CropConfig, GateConfig
    from anonflow.edge.crop import fit_crops, render_crops
    from anonflow.edge.gate import passes_gate
    from anonflow.edge.modelfiles.registry import default_model
    from anonflow.edge.orientation import orientations
    from anonflow.edge.pose.model import load_pose_model
    from anonflow.models.frames import sample_frames

    pose = load_pose_model(default_model("pose"), directory, threads=2)
    teacher = load_attribute_model(default_model("attributes"), directory)
    gate, crop = GateConfig(), CropConfig()
    out: list[HarvestedCrop] = []
    for frame in sample_frames(video, count, stride):
        poses = pose(frame.image)
        geometry = fit_crops(poses, frame.image.shape, crop, gate.point_threshold)
        which = np.flatnonzero(passes_gate(poses, gate, frame_width=frame.image.shape[1]) & geometry.valid)
        if not which.size:
            continue
        images = render_crops(
            frame.image, geometry, poses, crop, which=which, point_threshold=gate.point_threshold
        )
        facing = orientations(poses.select(which), gate.point_threshold)
        male = teacher(images).probabilities[:, teacher.labels.index("male")]
        for k, i in enumerate(which):
            box = geometry.boxes[i]
            out.append(
                HarvestedCrop(
                    video.name,
                    frame.index,
                    images[k],
                    float(box[0] + box[2]) / 2,
                    facing[k].value,
                    float(male[k]),
                )
            )
    return out


@pytest.fixture(scope="session")
def labelled_crops(tmp_path_factory: pytest.TempPathFactory, model_dir: Path, video_dir: Path) -> Path:
    """A crops folder as `train-demographics` reads it, made from the sample videos by the edge's own code.

    Labels: gender from the teacher (person-attributes-0230 on the head-free crop, P(male) > 0.5),
    orientation from key-point geometry, age band unknown (nothing here can tell it).
    """
    import cv2

    folder = tmp_path_factory.mktemp("crops")
    crops = [
        *harvest_crops(model_dir, video_dir / "one-by-one-person-detection.mp4", 20, 50),
        *harvest_crops(model_dir, video_dir / "store-aisle-detection.gif", 8, 8),
    ]
    rows = ["file,gender,age_band,orientation"]
    for n, crop in enumerate(crops):
        name = f"{Path(crop.video).stem}-{crop.frame:05d}-{n:03d}.png"
        cv2.imwrite(str(folder / name), crop.image)
        rows.append(f"{name},{'male' if crop.male > 0.5 else 'female'},unknown,{crop.orientation}")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder
