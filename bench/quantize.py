"""Speed and cost of the int8 pose model: ms/frame at 1 and 2 threads, and PTK/EPE against float.

Makes int8 variants of openpose-lightweight (QDQ and QOperator with percentile calibration; QDQ with
min/max calibration for comparison) in a temporary model directory, calibrated on frames spread over the
sample videos, then on held-out frames of each video measures

- network time per frame (median of interleaved runs, so a busy machine slows every variant alike),
- key-point agreement with the float model (PTK at 0.2 torso heights, EPE in pixels, people found).

    ANONFLOW_MODEL_DIR=../shared/models ANONFLOW_VIDEO_DIR=../shared/videos python bench/quantize.py
    python bench/quantize.py --calibration-frames 48 --frames 40 --repeats 30
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from anonflow.edge.modelfiles.registry import manifest, model_dir, spec
from anonflow.edge.pose.model import PoseModel, load_pose_model
from anonflow.edge.pose.openpose import OpenPoseDecoder
from anonflow.models.evaluate.keypoints import KeypointAgreement, compare
from anonflow.models.frames import SampledFrame, sample_frames
from anonflow.models.quantize import INT8_MODEL, Calibration, Format, quantize_pose

# (label, format, calibration)
VARIANTS: tuple[tuple[str, Format, Calibration], ...] = (
    ("int8 qdq percentile", "qdq", "percentile"),
    ("int8 qoperator percentile", "qoperator", "percentile"),
    ("int8 qdq minmax", "qdq", "minmax"),
)
# Held-out evaluation frames per video: (file, stride) chosen so people are in view.
EVAL_VIDEOS = (
    ("store-aisle-detection.gif", 2),
    ("vtest-480x360.avi", 7),
    ("one-by-one-person-detection.mp4", 37),
)
CALIBRATION_VIDEOS = (
    "store-aisle-detection.gif",
    "people-detection.gif",
    "vtest-480x360.avi",
    "one-by-one-person-detection.mp4",
)


def _session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def speed(paths: dict[str, Path], tensor: np.ndarray, threads: int, repeats: int) -> dict[str, float]:
    """Median network ms per frame of each model, runs interleaved round-robin."""
    sessions = {label: _session(path, threads) for label, path in paths.items()}
    feed = {"data": tensor}
    for session in sessions.values():
        for _ in range(3):
            session.run(None, feed)
    times: dict[str, list[float]] = {label: [] for label in sessions}
    for _ in range(repeats):
        for label, session in sessions.items():
            start = time.perf_counter()
            session.run(None, feed)
            times[label].append((time.perf_counter() - start) * 1e3)
    return {label: statistics.median(t) for label, t in times.items()}


def agreement(
    reference: PoseModel, candidate: PoseModel, frames: Sequence[SampledFrame]
) -> KeypointAgreement:
    total = KeypointAgreement()
    for frame in frames:
        total += compare(reference(frame.image), candidate(frame.image))
    return total


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model-dir", type=Path, help="default: $ANONFLOW_MODEL_DIR")
    parser.add_argument(
        "--video-dir", type=Path, default=Path(os.environ.get("ANONFLOW_VIDEO_DIR", "../shared/videos"))
    )
    parser.add_argument("--calibration-frames", type=int, default=24)
    parser.add_argument("--frames", type=int, default=30, help="evaluation frames per video")
    parser.add_argument("--repeats", type=int, default=20, help="timed runs per model and thread count")
    parser.add_argument("--input-height", type=int, default=256)
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # the quantiser's advice on pre-processing, printed per run

    source_dir = model_dir(args.model_dir)
    float_spec = spec(spec(INT8_MODEL).derived_from)
    calibration_videos = [args.video_dir / name for name in CALIBRATION_VIDEOS]
    print(f"CPU threads available: {os.cpu_count()}; onnxruntime {ort.__version__}")
    with tempfile.TemporaryDirectory(prefix="anonflow-bench-") as tmp:
        work = Path(tmp)
        for row in manifest():
            if not row.derived_from and (source_dir / row.file).is_file():
                (work / row.file).parent.mkdir(parents=True, exist_ok=True)
                (work / row.file).symlink_to((source_dir / row.file).resolve())
        paths = {"float32": work / float_spec.file}
        for label, fmt, calibration in VARIANTS:
            out = work / "variants" / f"{fmt}-{calibration}.onnx"
            started = time.perf_counter()
            quantize_pose(
                work,
                calibration_videos,
                args.calibration_frames,
                input_height=args.input_height,
                fmt=fmt,
                output=out,
                calibration=calibration,
            )
            print(f"made {label} in {time.perf_counter() - started:.1f} s ({args.calibration_frames} frames)")
            paths[label] = out

        decoder = OpenPoseDecoder(args.input_height)
        first = sample_frames(args.video_dir / EVAL_VIDEOS[0][0], 1)[0].image
        tensor = decoder.prepare(first)[0]
        print(
            f"\nnetwork time per frame, input {tensor.shape[2]}x{tensor.shape[3]} (median of {args.repeats})"
        )
        print(f"{'model':28}{'1 thread':>12}{'2 threads':>12}")
        timings = {threads: speed(paths, tensor, threads, args.repeats) for threads in (1, 2)}
        for label in paths:
            print(f"{label:28}{timings[1][label]:>9.1f} ms{timings[2][label]:>9.1f} ms")

        reference = load_pose_model(float_spec, work, threads=2, input_height=args.input_height)
        print(
            f"\nagreement with float32 (PTK at 0.2 torso heights, EPE in frame px), {args.frames} per video"
        )
        print(f"{'model':28}{'video':34}{'PTK %':>7}{'EPE px':>8}{'people':>10}")
        for video, stride in EVAL_VIDEOS:
            frames = sample_frames(args.video_dir / video, args.frames, stride)
            for label, path in list(paths.items())[1:]:
                candidate = PoseModel(float_spec, _session(path, 2), decoder)
                a = agreement(reference, candidate, frames)
                people = f"{a.candidate_people}/{a.reference_people}"
                print(f"{label:28}{video:34}{a.ptk:>7.1f}{a.epe_px:>8.2f}{people:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
