"""The gateway makes its own int8 pose model at first start, from its cameras' frames, and runs it.

Real files: the shipped models linked from the shared model directory, a sample video as the camera,
ONNX Runtime's quantiser. The chains are not started: only the model directory is prepared and chosen.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from anonflow.contract.errors import ModelFileError
from anonflow.edge.modelfiles.derived import read_sidecar
from anonflow.edge.modelfiles.quantize import INT8_MODEL
from anonflow.edge.modelfiles.registry import resolve, spec
from anonflow.edge.modelfiles.workdir import prepare
from anonflow.edge.pose.model import choose_pose_model
from anonflow.edge.runtime.camera import open_capture
from anonflow.edge.runtime.config import GatewayConfig
from anonflow.edge.runtime.gateway import derived_models

INT8 = spec(INT8_MODEL, "pose")


def gateway(tmp_path: Path, model_dir: Path, video_dir: Path, *sources: str) -> GatewayConfig:
    return GatewayConfig.model_validate(
        {
            "store_id": "store-1",
            "gateway_id": "gw-1",
            "model_dir": model_dir,
            "derived_model_dir": tmp_path / "models",
            "cameras": [
                {"id": f"cam-{i}", "source": str(video_dir / s) if "/" not in s else s, "fps": 5}
                for i, s in enumerate(sources)
            ],
        }
    )


@pytest.fixture(scope="module")
def first_start(
    tmp_path_factory: pytest.TempPathFactory, model_dir: Path, video_dir: Path
) -> tuple[GatewayConfig, Path]:
    work = tmp_path_factory.mktemp("gw")
    broken = work / "broken-camera.mp4"
    broken.write_text("not a video")
    config = gateway(work, model_dir, video_dir, "store-aisle-detection.gif", str(broken))
    return config, derived_models(config, model_dir, open_capture)


def test_first_start_makes_the_int8_model_from_the_cameras(first_start: tuple[GatewayConfig, Path]) -> None:
    config, directory = first_start
    assert directory == config.derived_model_dir
    resolve(INT8, directory)  # verified against its sidecar and the shipped parent
    sidecar = read_sidecar(directory / INT8.file)
    assert sidecar.made_by == "anonflow gateway gw-1 (first start)"
    # The broken camera is skipped; the other's share is 12 of the 24 frames, every 10th, but the
    # 67-frame clip holds only 7 of those.
    assert sidecar.details["calibration_frames"] == 7
    assert sidecar.details["calibration_source"] == "this store's cameras"
    # The defaults now run it.
    assert choose_pose_model(None, directory) == INT8


def test_a_later_start_reuses_it(first_start: tuple[GatewayConfig, Path], model_dir: Path) -> None:
    _, directory = first_start
    before = (directory / INT8.file).stat().st_mtime_ns
    again = prepare(model_dir, directory, lambda: pytest.fail("no frames are needed"), made_by="x")
    assert again.int8 and not again.made
    assert (directory / INT8.file).stat().st_mtime_ns == before


def test_without_frames_the_float_model_runs_and_says_so_once(
    tmp_path: Path, model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    prepared = prepare(model_dir, tmp_path / "models", lambda: [], made_by="x")
    assert not prepared.int8 and prepared.reason == "no calibration frames"
    with caplog.at_level(logging.INFO):
        chosen = [choose_pose_model(None, prepared.directory) for _ in range(3)]
    assert chosen == [spec(INT8.derived_from, "pose")] * 3
    said = [r for r in caplog.records if getattr(r, "event", None) == "pose_model_float"]
    assert len(said) == 1 and "openpose-lightweight" in said[0].getMessage()


def test_the_shipped_directory_is_never_written(model_dir: Path) -> None:
    with pytest.raises(ModelFileError, match="is the shipped one"):
        prepare(model_dir, model_dir, lambda: [], made_by="x")
