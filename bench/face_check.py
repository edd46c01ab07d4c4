"""The face check's false-drop rate and what head zones and the face check cost, on the sample videos.

The sample videos hold no face the cascades detect as they are (see tests/edge/test_privacy.py), so every
crop the face check drops on them is a false drop: a body crop lost to clothing or shelf texture. Runs the
real chain (default settings) over each video and prints, per video: crops checked, crops dropped (the
false-drop rate), and per pose frame the p50 / p95 milliseconds of the head zones and of the face check,
with the 1-minute load average before and after (the machine may be shared). Then the positive control
as a figure: a portrait pasted into those face-free crops at widths of 20 to 64 px, and the share the
face check catches at each width.

    ANONFLOW_MODEL_DIR=../shared/models ANONFLOW_VIDEO_DIR=../shared/videos python -m bench.face_check
    python -m bench.face_check --frames 40 --threads 2
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from anonflow.contract.errors import AnonflowError
from anonflow.edge.chain import build_chain
from anonflow.edge.config import CameraChainConfig, FaceCheckConfig
from anonflow.edge.facecheck import FaceCheck
from anonflow.edge.modelfiles.registry import model_dir

START_MS = 1_795_255_200_000
SIZES = (20, 24, 28, 32, 40, 50, 64)  # face widths in pixels of the 160x80 crop
Crop = npt.NDArray[np.uint8]
# video, first frame (where people are in view), frames per second
CLIPS = (
    ("store-aisle-detection.gif", 0, 16.7),
    ("people-detection.gif", 0, 10.0),
    ("one-by-one-person-detection.mp4", 240, 25.0),
    ("vtest-480x360.avi", 0, 10.0),
)


def run(
    video: Path,
    start: int,
    fps: float,
    *,
    frames: int,
    models: Path,
    threads: int,
    kept: list[Crop],
    face_check: FaceCheckConfig,
) -> str:
    # Every frame's tracks are read (no interval, no limit), so every croppable person's crop is checked.
    config = CameraChainConfig(
        attribute_every_s=0.0, attribute_readings=0, entry_interval_s=0.0, face_check=face_check
    )
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
            kept.extend(result.crops if result.crops is not None else ())
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


def portrait() -> Crop:
    """A public-domain portrait (Grace Hopper, US Navy photograph, matplotlib sample data) cut to its face
    as the frontal cascade frames it, plus an eighth of its width around."""
    from matplotlib import cbook

    image = np.asarray(cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))), np.uint8)
    x0, y0, x1, y1 = max(FaceCheck(FaceCheckConfig()).find(image), key=lambda r: r[2] - r[0])
    pad = (x1 - x0) // 8
    return np.ascontiguousarray(image[y0 - pad : y1 + pad, x0 - pad : x1 + pad])


def caught_by_size(crops: Sequence[Crop], config: FaceCheckConfig) -> list[str]:
    """The positive control as a measurement: the portrait pasted into each real crop at several sizes
    (a random place wholly inside), and the share of those the face check catches; and its CPU time per
    crop without a face."""
    check, face, rng = FaceCheck(config), portrait(), np.random.default_rng(0)
    started = time.process_time()
    false = sum(check.has_face(crop) for crop in crops)
    ms = 1000 * (time.process_time() - started) / max(len(crops), 1)
    cells = []
    for size in SIZES:
        caught = 0
        for crop in crops:
            pasted = crop.copy()
            x = int(rng.integers(0, crop.shape[1] - size + 1))
            y = int(rng.integers(0, crop.shape[0] - size + 1))
            pasted[y : y + size, x : x + size] = cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA)
            caught += check.has_face(pasted)
        cells.append(f"{size} px {caught / max(len(crops), 1):>4.0%}")
    return [
        f"faces pasted into the {len(crops)} face-free classifier crops (160x80), caught: "
        + ", ".join(cells),
        f"without a face: {false} caught; face check CPU time {ms:.1f} ms per crop "
        f"(settings {config.model_dump()})",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=60, help="frames per video (default 60)")
    parser.add_argument("--threads", type=int, default=2, help="pose model threads (default 2)")
    parser.add_argument("--model-dir", type=Path, default=None, help="model directory")
    parser.add_argument(
        "--sizes-crops", type=int, default=40, help="crops the pasted faces go into (default 40)"
    )
    parser.add_argument(
        "--min-neighbors",
        type=int,
        default=FaceCheckConfig().min_neighbors,
        help="the face check's face_check.min_neighbors (default: the setting's default)",
    )
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
        face_check = FaceCheckConfig(min_neighbors=args.min_neighbors)
        kept: list[Crop] = []
        for name, start, fps in CLIPS:
            line = run(
                videos / name,
                start,
                fps,
                frames=args.frames,
                models=models,
                threads=args.threads,
                kept=kept,
                face_check=face_check,
            )
            print(line, flush=True)
        for line in caught_by_size(kept[:: max(1, len(kept) // args.sizes_crops)], face_check):
            print(line)
        print(f"load 1m {before:.1f} -> {os.getloadavg()[0]:.1f}")
    except AnonflowError as error:
        print(f"face_check: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
