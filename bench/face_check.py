"""The face check's false-drop rate and what head zones and the face check cost, on the sample videos.

The sample videos hold no face the cascades detect as they are (see tests/edge/test_privacy.py), so every
crop the face check drops on them is a false drop: a body crop lost to clothing or shelf texture. Runs the
real chain (default settings) over each video and prints, per video: crops checked, crops dropped (the
false-drop rate), and per pose frame the p50 / p95 milliseconds of the head zones and of the face check,
with the 1-minute load average before and after (the machine may be shared).

    ANONFLOW_MODEL_DIR=../shared/models ANONFLOW_VIDEO_DIR=../shared/videos python -m bench.face_check
    python -m bench.face_check --frames 40 --threads 2
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from anonflow.contract.errors import AnonflowError
from anonflow.edge.chain import build_chain
from anonflow.edge.config import CameraChainConfig
from anonflow.edge.modelfiles.registry import model_dir

START_MS = 1_795_255_200_000
# video, first frame (where people are in view), frames per second
CLIPS = (
    ("store-aisle-detection.gif", 0, 16.7),
    ("people-detection.gif", 0, 10.0),
    ("one-by-one-person-detection.mp4", 240, 25.0),
    ("vtest-480x360.avi", 0, 10.0),
)


def run(video: Path, start: int, fps: float, *, frames: int, models: Path, threads: int) -> str:
    # Every frame's tracks are read (no interval, no limit), so every croppable person's crop is checked.
    config = CameraChainConfig(attribute_every_s=0.0, attribute_readings=0, entry_interval_s=0.0)
    chain = build_chain(
        config, store_id="bench", camera_id="cam", model_dir=models, threads=threads, keep_crops=True
    )
    capture = cv2.VideoCapture(str(video))
    checked = dropped = 0
    heads_ms, face_ms = [], []
    index = 0
    while index < start + frames:
        ok, frame = capture.read()
        if not ok:
            break
        if index >= start:
            result = chain.process(np.asarray(frame, np.uint8), START_MS + round(index * 1000 / fps))
            dropped += result.face_dropped
            checked += result.face_dropped + len(result.crop_track_ids)
            heads_ms.append(result.times.head_zones_ms)
            face_ms.append(result.times.face_check_ms)
        index += 1
    capture.release()
    rate = 100 * dropped / max(checked, 1)
    return (
        f"{video.name:<34} {len(face_ms):>6} {checked:>7} {dropped:>7} {rate:>7.1f} % "
        f"{np.percentile(heads_ms, 50):>6.2f}/{np.percentile(heads_ms, 95):<6.2f} "
        f"{np.percentile(face_ms, 50):>6.2f}/{np.percentile(face_ms, 95):<6.2f}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=60, help="frames per video (default 60)")
    parser.add_argument("--threads", type=int, default=2, help="pose model threads (default 2)")
    parser.add_argument("--model-dir", type=Path, default=None, help="model directory")
    args = parser.parse_args(argv)
    try:
        models = model_dir(args.model_dir)
        videos = Path(os.environ.get("ANONFLOW_VIDEO_DIR", "../shared/videos"))
        cv2.setNumThreads(args.threads)
        before = os.getloadavg()[0]
        print(
            f"{'video':<34} {'frames':>6} {'crops':>7} {'dropped':>7} {'false-drop':>9} "
            f"{'heads ms p50/p95':>13} {'face check ms p50/p95':>20}"
        )
        for name, start, fps in CLIPS:
            print(
                run(videos / name, start, fps, frames=args.frames, models=models, threads=args.threads),
                flush=True,
            )
        print(f"load 1m {before:.1f} -> {os.getloadavg()[0]:.1f}")
    except AnonflowError as error:
        print(f"face_check: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
