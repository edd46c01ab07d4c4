"""`anonflow models quantize`: a real int8 OpenPose model, verified by its sidecar and run by the edge."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

from anonflow.edge.modelfiles.derived import read_sidecar
from anonflow.edge.modelfiles.registry import spec
from anonflow.edge.pose.model import load_pose_model
from anonflow.models.evaluate.keypoints import KeypointAgreement, compare
from anonflow.models.frames import sample_frames
from anonflow.models.quantize import INT8_MODEL, FrameFeed

Cli = Callable[..., Any]  # the `cli` fixture: run(*argv) -> Run(code, out, err)
INT8 = spec(INT8_MODEL)
FLOAT = spec(INT8.derived_from)


def test_quantize_writes_an_int8_model_the_registry_accepts(
    cli: Cli, writable_models: Path, video_dir: Path
) -> None:
    run = cli(
        "quantize", "--model-dir", writable_models, "--video", video_dir / "store-aisle-detection.gif",
        "--frames", "2", "--calibration", "minmax",
    )  # fmt: skip

    assert run.code == 0, run.err
    report = json.loads(run.out)
    path = writable_models / INT8.file
    assert report["output"] == str(path) and report["calibration_frames"] == 2
    sidecar = read_sidecar(path)
    assert (sidecar.parent_name, sidecar.parent_sha256, sidecar.sha256) == (
        FLOAT.name,
        FLOAT.sha256,
        report["sha256"],
    )
    assert cli("verify", "--model-dir", writable_models, INT8.name).code == 0
    graph = onnx.load(str(path)).graph
    assert {"QuantizeLinear", "DequantizeLinear"} <= {node.op_type for node in graph.node}
    int8_weights = [t for t in graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert sum(int(np.prod(t.dims)) for t in int8_weights) > 4_000_000  # the 4.1 M parameters, as int8
    assert path.stat().st_size < 0.35 * (writable_models / FLOAT.file).stat().st_size


def test_int8_model_runs_in_the_edge_and_keeps_the_key_points(int8_model_dir: Path, video_dir: Path) -> None:
    float_model = load_pose_model(FLOAT, int8_model_dir, threads=2)
    int8_model = load_pose_model(INT8, int8_model_dir, threads=2)
    # Frames 10, 20, ... 60: none of them was a calibration frame (0 and 33).
    frames = sample_frames(video_dir / "store-aisle-detection.gif", 6, 10)[1:]

    total = KeypointAgreement()
    for frame in frames:
        total += compare(float_model(frame.image), int8_model(frame.image))

    assert total.reference_people >= 2 * len(frames)
    assert total.candidate_people == total.reference_people
    assert total.ptk > 90.0, total
    assert total.epe_px < 3.0, total


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--video", "no-such-video.mp4"], "does not exist"),
        (["--video", "{videos}/store-aisle-detection.gif", "--frames", "0"], "at least one each"),
        (["--video", "{videos}/store-aisle-detection.gif", "--input-height", "250"], "multiple of 8"),
        (
            ["--video", "{videos}/store-aisle-detection.gif", "--output", "{models}/" + FLOAT.file],
            "overwrite",
        ),
    ],
    ids=["missing-video", "no-frames", "bad-height", "overwrite-float"],
)
def test_quantize_bad_input_is_one_line(
    cli: Cli, writable_models: Path, video_dir: Path, args: list[str], expected: str
) -> None:
    filled = [a.format(videos=video_dir, models=writable_models) for a in args]

    run = cli("quantize", "--model-dir", writable_models, *filled)

    assert run.code == 2
    assert expected in run.err and len(run.err.strip().splitlines()) == 1
    assert not (writable_models / INT8.file).exists()


def test_frame_feed_pads_to_one_width_and_rewinds() -> None:
    tensors = [np.ones((1, 3, 16, w), np.float32) for w in (24, 40, 32)]
    feed = FrameFeed("data", tensors)

    first = [feed.get_next() for _ in range(4)]
    feed.rewind()

    assert first[3] is None and len(feed) == 3
    shapes = [f["data"].shape for f in first[:3] if f is not None]
    assert shapes == [(1, 3, 16, 40)] * 3
    again = feed.get_next()
    assert again is not None and again["data"][0, 0, 0, 23:25].tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match=r"float32 \[1, 3, H, W\]"):
        FrameFeed("data", [np.ones((3, 16, 24), np.float32)])
