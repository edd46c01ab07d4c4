"""Can one gateway keep N cameras at their target FPS with the default settings?

Starts `anonflow edge` as a separate process with N cameras (the sample videos, looped, each played at
its own frame rate like a live camera) at `--fps` frames per second each, default chain settings, local
file transport, and a health message every few seconds. Like a deployed gateway it has a writable model
directory where its first start makes the int8 pose model the defaults run (kept between runs, so only
the first run spends a minute on it, before the measurement starts). After a warm-up it reads the health
messages from the gateway's structured log and prints, per camera, the analysed FPS (the health message's 10 s
window), frames read and dropped, and the lag; then the share of cameras at or above 90 % of the target.

    ANONFLOW_MODEL_DIR=../shared/models ANONFLOW_VIDEO_DIR=../shared/videos \\
        python -m bench.gateway_cameras --cameras 4 --fps 5 --seconds 60
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

VIDEOS = (
    "one-by-one-person-detection.mp4",
    "store-aisle-detection.gif",
    "people-detection.gif",
    "vtest-480x360.avi",
)


def gateway_config(
    videos: Path, cameras: int, fps: float, work: Path, health_s: float, *, derived: Path
) -> dict[str, Any]:
    return {
        "store_id": "bench-store",
        "gateway_id": "bench-gateway",
        "derived_model_dir": str(derived),
        "cameras": [
            {"id": f"cam-{i + 1}", "source": str(videos / VIDEOS[i % len(VIDEOS)]), "fps": fps, "loop": True}
            for i in range(cameras)
        ],
        "transport": {"kind": "local", "directory": str(work / "entries")},
        "spool": {"directory": str(work / "spool")},
        "health": {"interval_s": health_s},
        "log_level": "info",
    }


def run(
    videos: Path, cameras: int, fps: float, seconds: float, warmup_s: float, *, derived: Path
) -> list[dict[str, Any]]:
    """The gateway's health messages logged after the warm-up."""
    with tempfile.TemporaryDirectory(prefix="anonflow-gateway-bench-") as tmp:
        work = Path(tmp)
        config = work / "gateway.yaml"
        settings = gateway_config(videos, cameras, fps, work, 5.0, derived=derived)
        config.write_text(yaml.safe_dump(settings), encoding="utf-8")
        process = subprocess.Popen(
            [sys.executable, "-m", "anonflow.cli.main", "edge", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stderr is not None
        health: list[tuple[float, dict[str, Any]]] = []
        started: list[float] = []

        def read() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if record.get("event") == "gateway_started":
                    started.append(time.monotonic())
                elif record.get("event") == "health":
                    health.append((time.monotonic(), record["health"]))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        deadline = time.monotonic() + 600
        while not started and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.5)
        if not started:
            process.kill()
            raise SystemExit("the gateway did not start (see its log)")
        time.sleep(warmup_s + seconds)
        process.send_signal(signal.SIGTERM)
        process.wait(120)
        reader.join(10)
        return [message for at, message in health if at >= started[0] + warmup_s]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--video-dir", default=os.environ.get("ANONFLOW_VIDEO_DIR"), help="sample videos")
    parser.add_argument("--cameras", type=int, default=4, help="cameras (default 4)")
    parser.add_argument("--fps", type=float, default=5.0, help="target FPS per camera (default 5)")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured seconds (default 60)")
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds before measuring (default 15)")
    parser.add_argument(
        "--derived-model-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "anonflow-bench-models",
        help="the gateway's writable model directory, kept between runs so the int8 pose model it makes "
        "at its first start is reused (default: anonflow-bench-models in the temporary directory)",
    )
    args = parser.parse_args(argv)
    if not args.video_dir or not Path(args.video_dir).is_dir():
        parser.error("no video directory: pass --video-dir or set ANONFLOW_VIDEO_DIR")
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} cores")
    videos = Path(args.video_dir)
    messages = run(videos, args.cameras, args.fps, args.seconds, args.warmup, derived=args.derived_model_dir)
    if not messages:
        print("no health message after the warm-up: measure longer")
        return 1
    per_camera: dict[str, list[dict[str, Any]]] = {}
    for message in messages:
        for camera in message["cameras"]:
            per_camera.setdefault(camera["camera_id"], []).append(camera)
    print(f"{len(messages)} health messages; target {args.fps:g} FPS per camera, {args.cameras} cameras")
    print(f"{'camera':<8} {'fps median':>10} {'fps min':>8} {'read':>7} {'dropped':>8} {'lag ms':>8}")
    kept = 0
    for camera_id, rows in per_camera.items():
        fps = [r["fps"] for r in rows]
        last = rows[-1]
        kept += statistics.median(fps) >= 0.9 * args.fps
        lag = last.get("lag_ms")
        print(
            f"{camera_id:<8} {statistics.median(fps):>10.2f} {min(fps):>8.2f} {last['frames_read']:>7} "
            f"{last['frames_dropped']:>8} {lag if lag is None else round(lag):>8}"
        )
    print(f"cameras at >= 90 % of the target: {kept} of {len(per_camera)}")
    print(f"load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
