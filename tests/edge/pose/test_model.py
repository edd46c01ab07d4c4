"""Loading pose models: verified files, matching layouts, session settings, and frames the model refuses."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from anonflow.contract.errors import InputError, ModelFileError
from anonflow.edge.modelfiles.registry import ModelSpec, manifest, sha256_of
from anonflow.edge.pose.model import PoseModel, load_pose_model
from anonflow.edge.pose.openpose import OpenPoseDecoder

RELEASE = {s.family: s for s in manifest() if s.role == "pose" and not s.derived_from}
ATTRIBUTES = next(s for s in manifest() if s.role == "attributes" and not s.derived_from)


def test_flipped_byte_is_refused(tmp_path: Path, pose_model_dir: Path) -> None:
    spec = RELEASE["yolo-pose"]
    copy = tmp_path / spec.file
    copy.parent.mkdir(parents=True)
    shutil.copyfile(pose_model_dir / spec.file, copy)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))

    with pytest.raises(ModelFileError) as caught:
        load_pose_model(spec, tmp_path)
    message = str(caught.value)
    assert str(copy) in message and spec.sha256 in message


def test_missing_file_is_refused(tmp_path: Path) -> None:
    spec = RELEASE["openpose"]
    with pytest.raises(ModelFileError, match=f"{tmp_path / spec.file}.*missing"):
        load_pose_model(spec, tmp_path)


def _as_pose(model: ModelSpec, family: str, model_dir: Path) -> ModelSpec:
    """A manifest row that claims `model`'s (intact) file is a pose model of `family`."""
    return dataclasses.replace(model, role="pose", family=family, sha256=sha256_of(model_dir / model.file))


@pytest.mark.parametrize(
    ("family", "expected"),
    [
        ("openpose", r"expected layout: input 'data'.*Mconv7_stage2_L1"),
        ("yolo-pose", r"fixed square input \[1,3,S,S\]"),
    ],
)
def test_unknown_model_layout_names_the_expected_one(
    pose_model_dir: Path, family: str, expected: str
) -> None:
    # The attribute network is a real ONNX file whose inputs and outputs fit no pose decoder.
    spec = _as_pose(ATTRIBUTES, family, pose_model_dir)
    with pytest.raises(InputError, match=expected):
        load_pose_model(spec, pose_model_dir)


def test_other_family_file_is_refused(pose_model_dir: Path) -> None:
    """The YOLO file under an OpenPose row: a pose model, but not the layout the decoder reads."""
    spec = dataclasses.replace(RELEASE["yolo-pose"], family="openpose")
    with pytest.raises(InputError, match=r"outputs \{'output0'.*expected layout: input 'data'"):
        load_pose_model(spec, pose_model_dir)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"family": "centernet"}, "unknown family 'centernet'"),
        ({"role": "attributes"}, "not a pose model"),
    ],
)
def test_bad_rows_are_refused(pose_model_dir: Path, change: dict[str, str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_pose_model(dataclasses.replace(RELEASE["openpose"], **change), pose_model_dir)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("family", "kwargs", "message"),
    [
        ("openpose", {"threads": 0}, r"threads must be in \[1, 64\]"),
        ("openpose", {"input_height": 300}, "multiple of 8"),
        ("yolo-pose", {"input_height": 256}, "fixed 640x640 input"),
    ],
)
def test_bad_settings_are_refused(
    pose_model_dir: Path, family: str, kwargs: dict[str, int], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        load_pose_model(RELEASE[family], pose_model_dir, **kwargs)


def test_session_settings_and_input_height(pose_model_dir: Path) -> None:
    model = load_pose_model(RELEASE["openpose"], pose_model_dir, threads=1, input_height=368)
    options = model.session.get_session_options()
    assert options.intra_op_num_threads == 1 and options.inter_op_num_threads == 1
    assert isinstance(model.decoder, OpenPoseDecoder) and model.decoder.input_height == 368
    tensor, _ = model.decoder.prepare(np.zeros((432, 768, 3), np.uint8))
    assert tensor.shape[2] == 368
    assert len(model(np.zeros((432, 768, 3), np.uint8))) == 0


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (np.zeros((100, 100, 3), np.float32), r"uint8 \[H, W, 3\] BGR, got float32 \[100, 100, 3\]"),
        (np.zeros((100, 100), np.uint8), r"got uint8 \[100, 100\]"),
        (np.zeros((100, 100, 4), np.uint8), r"got uint8 \[100, 100, 4\]"),
        (np.zeros((1, 100, 3), np.uint8), "at least 2x2 pixels, got 100x1"),
        (np.zeros((0, 0, 3), np.uint8), "at least 2x2 pixels, got 0x0"),
        ([[0, 0, 0]], "got list"),
    ],
    ids=["float", "gray", "bgra", "one-row", "empty", "list"],
)
def test_bad_frames_are_refused(
    release_pose_model: Callable[[str], PoseModel], frame: np.ndarray, message: str
) -> None:
    for family in RELEASE:
        with pytest.raises(InputError, match=message):
            release_pose_model(family).infer(frame)
