"""Where a camera's frame time goes, and what detecting every k-th frame costs in accuracy.

Runs the real chain (pose network, gate and crop, attribute network, tracker, entries) over clips of the
sample videos for several setups, at 1 and 2 inference threads, and prints

- per-stage time, p50 / p95 in ms over the frames the pose model ran on: decode (video), pose prepare /
  inference / grouping, gate+crop, head zones, face check, classify (crop rendering and appearance
  template, without the
  network), attribute network, track, entries (building them), serialise (JSON); and the whole time of
  skipped frames;
- sustained FPS (frames / wall time of the whole loop, decode included), the share of frame time spent
  outside the two networks (non-net) and in the chain's own stages (gate+crop to serialise), p95
  frame->entry latency (decode + chain + JSON of frames that emit entries), and what the head zones and
  the face check cost together per frame (mean over every frame: the privacy stages' budget is 2 ms) and
  the crops the face check looked at per frame (times its CPU cost per crop, `bench.face_check`, this is
  the face check's cost per frame on a machine too busy for wall times to mean much);
- agreement with the reference (float model, input height 256, every frame) and, for detect-every-k,
  with the same setup detecting every frame: the boxes each run holds for every frame (the tracker's
  predictions on skipped frames) matched to the other run's boxes at IoU >= 0.5 (recall, precision,
  mean IoU), track id switches along the other run's tracks, and tracks and entries (other run's in
  brackets).

The int8 pose model (`anonflow models quantize`) is included when the model directory holds it.

`--ratio` measures the default configuration against the float model's own bound instead: whole
processes, alternated round by round on the same frames (the machine is shared, so only a ratio measured
side by side means anything): the default chain (decode included) at 2 threads, and the fp32 pose network
alone at input height 256 on 2 threads over frames decoded beforehand. It prints each round's FPS and the
median ratio.

    ANONFLOW_MODEL_DIR=../shared/models ANONFLOW_VIDEO_DIR=../shared/videos python bench/edge_stages.py
    python bench/edge_stages.py --frames 30 --threads 2          # quicker
    python -m bench.edge_stages --ratio --frames 60 --rounds 3   # default chain / fp32 model bound
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from anonflow.contract.errors import AnonflowError
from anonflow.edge.appearance import DailyKeys
from anonflow.edge.attributes import AttributeModel, AttributeScores, load_attribute_model
from anonflow.edge.chain import EdgeChain
from anonflow.edge.config import CameraChainConfig
from anonflow.edge.facecheck import FaceCheck
from anonflow.edge.modelfiles.registry import model_dir, resolve, spec
from anonflow.edge.pose.model import load_pose_model
from anonflow.edge.tracking.base import TrackAssignment
from anonflow.edge.tracking.bytetrack import ByteTrack
from anonflow.edge.tracking.iou import iou_matrix

START_MS = 1_795_255_200_000


@dataclass(frozen=True)
class Clip:
    video: str
    start: int  # first frame: where people are in view
    fps: float


CLIPS = (
    Clip("store-aisle-detection.gif", 0, 16.7),
    Clip("people-detection.gif", 0, 12.5),
    Clip("one-by-one-person-detection.mp4", 240, 10.0),
    Clip("vtest-480x360.avi", 0, 10.0),
)


@dataclass(frozen=True)
class Setup:
    pose_model: str
    input_height: int
    detect_every: int

    @property
    def label(self) -> str:
        model = "int8" if self.pose_model.endswith("-int8") else "fp32"
        return f"{model} h{self.input_height} k{self.detect_every}"

    @property
    def every_frame(self) -> Setup:
        return Setup(self.pose_model, self.input_height, 1)


FLOAT, INT8 = "openpose-lightweight", "openpose-lightweight-int8"
SETUPS = (
    Setup(FLOAT, 256, 1),  # the reference: the default model at its reference input height, every frame
    Setup(FLOAT, 192, 1),
    Setup(FLOAT, 160, 1),
    Setup(FLOAT, 256, 2),
    Setup(FLOAT, 256, 3),
    Setup(INT8, 256, 1),
    Setup(INT8, 192, 1),
    Setup(INT8, 160, 1),
    Setup(INT8, 256, 2),
    Setup(INT8, 256, 3),
)
REFERENCE = SETUPS[0]
STAGES = (
    "decode",
    "prepare",
    "pose_net",
    "grouping",
    "gate_crop",
    "head_zones",
    "face_check",
    "classify",
    "attr_net",
    "track",
    "entries",
    "serialise",
)


# The chain's own stages (everything but video decode, the pose decoder and the two networks).
CHAIN_STAGES = ("gate_crop", "head_zones", "face_check", "classify", "track", "entries", "serialise")


class TimedAttributes:
    """The attribute model with its network time recorded, so the chain's classify time can be split."""

    def __init__(self, model: AttributeModel) -> None:
        self.spec = model.spec
        self.labels = model.labels
        self._model = model
        self.ms = 0.0
        self.crops = 0

    def __call__(self, crops: npt.NDArray[np.uint8]) -> AttributeScores:
        self.crops += len(crops)
        started = time.perf_counter()
        try:
            return self._model(crops)
        finally:
            self.ms += (time.perf_counter() - started) * 1000


class RecordingTracker:
    """ByteTrack, keeping the boxes it predicts on frames the pose model skips."""

    def __init__(self) -> None:
        self._tracker = ByteTrack()
        self.predicted: tuple[npt.NDArray[np.float32], tuple[str, ...]] | None = None

    def update(
        self, boxes: npt.NDArray[np.float32], scores: npt.NDArray[np.float32], dt_s: float
    ) -> TrackAssignment:
        self.predicted = None
        return self._tracker.update(boxes, scores, dt_s)

    def predict(self, dt_s: float) -> tuple[npt.NDArray[np.float32], tuple[str, ...]]:
        self.predicted = self._tracker.predict(dt_s)
        return self.predicted


@dataclass
class Run:
    """One setup at one thread count over every clip: per-frame stage times and what was seen."""

    setup: Setup
    threads: int
    stage_ms: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STAGES})
    total_ms: list[float] = field(default_factory=list)
    pose_ran: list[bool] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    entries: int = 0
    tracks: set[str] = field(default_factory=set)
    # Per clip, per frame: (boxes float32 [N, 4], track ids) the run holds for that frame.
    boxes: dict[str, list[tuple[npt.NDArray[np.float32], tuple[str, ...]]]] = field(default_factory=dict)
    load: tuple[float, float] = (0.0, 0.0)
    checked: int = 0  # crops the face check looked at (classified plus dropped)


def frames_of(path: Path, start: int, count: int) -> Iterator[tuple[float, npt.NDArray[np.uint8]]]:
    """(decode ms, frame) for `count` frames from `start` (earlier frames are skipped untimed)."""
    capture = cv2.VideoCapture(str(path))
    try:
        for _ in range(start):
            capture.grab()
        for _ in range(count):
            started = time.perf_counter()
            ok, frame = capture.read()
            ms = (time.perf_counter() - started) * 1000
            if not ok:
                return
            yield ms, np.asarray(frame, np.uint8)
    finally:
        capture.release()


def run_setup(setup: Setup, threads: int, models: Path, videos: Path, frames: int) -> Run:
    run = Run(setup, threads, load=(os.getloadavg()[0], 0.0))
    pose = load_pose_model(
        spec(setup.pose_model, "pose"), models, threads=threads, input_height=setup.input_height
    )
    attributes = TimedAttributes(
        load_attribute_model(spec("person-attributes-0230", "attributes"), models, 1)
    )
    config = CameraChainConfig(
        pose_model=setup.pose_model, pose_input_height=setup.input_height, detect_every=setup.detect_every
    )
    for clip in CLIPS:
        tracker = RecordingTracker()
        chain = EdgeChain(
            config=config,
            store_id="bench",
            camera_id="cam",
            pose_model=pose,
            attribute_model=attributes,  # type: ignore[arg-type]  # same call and labels, timed
            tracker=tracker,
            face_check=FaceCheck(config.face_check),
            appearance_key=DailyKeys(None, "bench"),
        )
        held = run.boxes.setdefault(clip.video, [])
        for index, (decode_ms, frame) in enumerate(frames_of(videos / clip.video, clip.start, frames)):
            if index == 0:  # warm the sessions up outside the timing
                pose.infer(frame)
                attributes(np.zeros((1, 160, 80, 3), np.uint8))
            attributes.ms = 0.0
            started = time.perf_counter()
            result = chain.process(frame, START_MS + round(index * 1000 / clip.fps))
            chain_ms = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            lines = [entry.model_dump_json(exclude_none=True) for entry in result.entries]
            serialise_ms = (time.perf_counter() - started) * 1000
            times = result.times
            split = {
                "decode": decode_ms,
                "prepare": times.pose.prepare_ms,
                "pose_net": times.pose.inference_ms,
                "grouping": times.pose.decode_ms,
                "gate_crop": times.gate_crop_ms,
                "head_zones": times.head_zones_ms,
                "face_check": times.face_check_ms,
                "classify": times.classify_ms - attributes.ms,
                "attr_net": attributes.ms,
                "track": times.track_ms,
                "entries": times.entries_ms,
                "serialise": serialise_ms,
            }
            for stage, ms in split.items():
                run.stage_ms[stage].append(ms)
            total = decode_ms + chain_ms + serialise_ms
            run.total_ms.append(total)
            run.pose_ran.append(result.pose_ran)
            if lines:
                run.latency_ms.append(total)
            run.entries += len(lines)
            run.checked += result.face_dropped
            run.tracks.update(e.track_id for e in result.entries)
            if result.pose_ran:
                people = result.people
                held.append(
                    (
                        np.array([p.box for p in people], np.float32).reshape(-1, 4),
                        tuple(p.track_id for p in people),
                    )
                )
            else:
                held.append(tracker.predicted or (np.zeros((0, 4), np.float32), ()))
    run.load = (run.load[0], os.getloadavg()[0])
    run.checked += attributes.crops
    return run


def p(values: Sequence[float] | npt.NDArray[np.float64], q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def summary_table(runs: Sequence[Run]) -> list[str]:
    lines = [
        f"{'setup':<14} {'thr':>3} {'frames':>6} {'FPS':>6} {'ms p50':>7} {'ms p95':>7} "
        f"{'non-net %':>9} {'chain %':>7} {'p95 frame->entry':>16} {'heads+face':>10} {'checked':>7} "
        f"{'load 1m':>11}"
    ]
    for run in runs:
        total = np.array(run.total_ms)
        nets = np.array(run.stage_ms["pose_net"]) + np.array(run.stage_ms["attr_net"])
        share = 100 * (1 - nets.sum() / total.sum())
        chain = 100 * sum(np.sum(run.stage_ms[s]) for s in CHAIN_STAGES) / total.sum()
        lines.append(
            f"{run.setup.label:<14} {run.threads:>3} {len(total):>6} {1000 * len(total) / total.sum():>6.1f} "
            f"{p(total, 50):>7.1f} {p(total, 95):>7.1f} {share:>9.1f} {chain:>7.1f} "
            f"{p(run.latency_ms, 95):>13.1f} ms "
            f"{heads_and_face_ms(run):>7.2f} ms {run.checked / max(len(total), 1):>7.3f} "
            f"{run.load[0]:>5.1f}-{run.load[1]:<5.1f}"
        )
    return lines


def heads_and_face_ms(run: Run) -> float:
    """Head zones plus face check, mean milliseconds per frame over every frame (skipped ones cost 0)."""
    both = np.array(run.stage_ms["head_zones"]) + np.array(run.stage_ms["face_check"])
    return float(both.mean()) if len(both) else float("nan")


def stage_table(runs: Sequence[Run]) -> list[str]:
    """Stage times over the frames the pose model ran on; skipped frames (detect-every-k) apart."""
    head = f"{'setup':<14} {'thr':>3} " + " ".join(f"{s:>11}" for s in STAGES) + f" {'skipped':>11}"
    lines = [head, f"{'':<18} " + " ".join(f"{'p50/p95':>11}" for _ in range(len(STAGES) + 1))]
    for run in runs:
        ran = np.array(run.pose_ran)
        cells = []
        for stage in STAGES:
            ms = np.array(run.stage_ms[stage])[ran]
            cells.append(f"{p(ms, 50):>5.1f}/{p(ms, 95):<5.1f}")
        skipped = np.array(run.total_ms)[~ran]
        cells.append(f"{p(skipped, 50):>5.1f}/{p(skipped, 95):<5.1f}" if len(skipped) else f"{'-':^11}")
        lines.append(f"{run.setup.label:<14} {run.threads:>3} " + " ".join(cells))
    return lines


@dataclass(frozen=True)
class Agreement:
    recall: float
    precision: float
    mean_iou: float
    id_switches: int


def agreement(candidate: Run, reference: Run) -> Agreement:
    """Boxes of every frame of `candidate` against the every-frame `reference`, matched at IoU >= 0.5."""
    from anonflow.edge.tracking.assignment import match

    matched = ref_total = cand_total = switches = 0
    ious: list[float] = []
    for video, ref_frames in reference.boxes.items():
        last_id: dict[str, str] = {}
        for (ref_boxes, ref_ids), (cand_boxes, cand_ids) in zip(
            ref_frames, candidate.boxes[video], strict=True
        ):
            ref_total += len(ref_boxes)
            cand_total += len(cand_boxes)
            if not len(ref_boxes) or not len(cand_boxes):
                continue
            iou = iou_matrix(ref_boxes, cand_boxes)
            pairs = match(1.0 - iou, max_cost=0.5).pairs
            matched += len(pairs)
            for r, c in pairs:
                ious.append(float(iou[r, c]))
                previous = last_id.get(ref_ids[r])
                switches += previous is not None and previous != cand_ids[c]
                last_id[ref_ids[r]] = cand_ids[c]
    return Agreement(
        recall=matched / max(ref_total, 1),
        precision=matched / max(cand_total, 1),
        mean_iou=float(np.mean(ious)) if ious else float("nan"),
        id_switches=switches,
    )


def agreement_table(runs: Sequence[Run]) -> list[str]:
    """Every setup against the reference, and detect-every-k setups also against their every-frame twin."""
    lines = [
        f"{'setup':<14} {'vs':<14} {'box recall':>10} {'precision':>9} {'mean IoU':>8} "
        f"{'id switches':>11} {'tracks':>9} {'entries':>11}"
    ]
    threads = max((r.threads for r in runs), default=1)
    by_setup = {r.setup: r for r in runs if r.threads == threads}
    for run in by_setup.values():
        for base in dict.fromkeys((REFERENCE, run.setup.every_frame)):
            reference = by_setup.get(base)
            if reference is None or reference is run:
                continue
            a = agreement(run, reference)
            lines.append(
                f"{run.setup.label:<14} {reference.setup.label:<14} {a.recall:>10.3f} {a.precision:>9.3f} "
                f"{a.mean_iou:>8.3f} {a.id_switches:>11} {len(run.tracks):>3} ({len(reference.tracks):>3}) "
                f"{run.entries:>4} ({reference.entries:>4})"
            )
    return lines


def available(setup: Setup, models: Path) -> str | None:
    """None if the setup's pose model can be loaded from `models`, else why not."""
    try:
        resolve(spec(setup.pose_model, "pose"), models)
    except AnonflowError as error:
        return str(error)
    return None


def default_chain_fps(models: Path, videos: Path, frames: int) -> float:
    """Frames per second of the default chain over every clip, decode and serialising included."""
    from anonflow.edge.chain import build_chain

    config = CameraChainConfig()
    total_frames, total_s = 0, 0.0
    warm = next(frames_of(videos / CLIPS[0].video, 0, 1))[1]  # first session runs are slow: not timed
    warming = build_chain(config, store_id="bench", camera_id="warm", model_dir=models, threads=2)
    warming.process(warm, START_MS)
    for clip in CLIPS:
        chain = build_chain(config, store_id="bench", camera_id="cam", model_dir=models, threads=2)
        capture = cv2.VideoCapture(str(videos / clip.video))
        for _ in range(clip.start):
            capture.grab()
        started = time.perf_counter()
        for index in range(frames):
            ok, frame = capture.read()
            if not ok:
                break
            result = chain.process(np.asarray(frame, np.uint8), START_MS + round(index * 1000 / clip.fps))
            for entry in result.entries:
                entry.model_dump_json(exclude_none=True)
            total_frames += 1
        total_s += time.perf_counter() - started
        capture.release()
    return total_frames / total_s


def model_bound_fps(models: Path, videos: Path, frames: int) -> float:
    """Frames per second of the fp32 pose network alone (input height 256, 2 threads) on the same frames."""
    pose = load_pose_model(spec(FLOAT, "pose"), models, threads=2, input_height=256)
    images = [f for clip in CLIPS for _, f in frames_of(videos / clip.video, clip.start, frames)]
    pose.infer(images[0])
    started = time.perf_counter()
    for image in images:
        pose.infer(image)
    return len(images) / (time.perf_counter() - started)


def ratio(frames: int, rounds: int, model_arg: str | None, video_dir: Path) -> int:
    """Alternate whole processes of the default chain and the fp32 model bound; print the median ratio."""
    import statistics
    import subprocess

    def child(kind: str) -> float:
        command = [sys.executable, "-m", "bench.edge_stages", "--child", kind, "--frames", str(frames)]
        command += ["--video-dir", str(video_dir)] + (["--model-dir", model_arg] if model_arg else [])
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        return float(out.strip().splitlines()[-1])

    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} cores")
    from anonflow.edge.pose.model import choose_pose_model

    default = CameraChainConfig()
    chosen = choose_pose_model(default.pose_model, model_dir(model_arg)).name
    print(f"default: pose model {chosen}, detect_every {default.detect_every}")
    ratios = []
    for round_ in range(rounds):
        order = ("default", "bound") if round_ % 2 == 0 else ("bound", "default")
        fps = {kind: child(kind) for kind in order}
        ratios.append(fps["default"] / fps["bound"])
        print(
            f"round {round_ + 1}: default chain {fps['default']:.1f} FPS, "
            f"fp32 model bound {fps['bound']:.1f} FPS, ratio {ratios[-1]:.2f} "
            f"(load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    print(f"default chain / fp32 model-bound FPS: median ratio {statistics.median(ratios):.2f} over {rounds}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model-dir", help="model directory (default: $ANONFLOW_MODEL_DIR)")
    parser.add_argument("--video-dir", default=os.environ.get("ANONFLOW_VIDEO_DIR"), help="sample videos")
    parser.add_argument("--frames", type=int, default=60, help="frames per clip (default 60)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts (default 1 2)")
    parser.add_argument("--setups", nargs="+", help="only these setup labels, e.g. 'fp32 h256 k1'")
    parser.add_argument("--ratio", action="store_true", help="default chain / fp32 model-bound FPS only")
    parser.add_argument("--rounds", type=int, default=3, help="with --ratio: alternated rounds (default 3)")
    parser.add_argument("--child", choices=("default", "bound"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        models = model_dir(args.model_dir)
    except AnonflowError as error:
        parser.error(str(error))
    if not args.video_dir or not Path(args.video_dir).is_dir():
        parser.error("no video directory: pass --video-dir or set ANONFLOW_VIDEO_DIR")
    videos = Path(args.video_dir)
    if args.child:
        measure = default_chain_fps if args.child == "default" else model_bound_fps
        print(f"{measure(models, videos, args.frames):.3f}")
        return 0
    if args.ratio:
        return ratio(args.frames, args.rounds, args.model_dir, videos)

    setups = [s for s in SETUPS if not args.setups or s.label in args.setups]
    runs: list[Run] = []
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} cores")
    for setup in setups:
        reason = available(setup, models)
        if reason is not None:
            print(f"skip {setup.label}: {reason}")
            continue
        for threads in args.threads:
            started = time.perf_counter()
            runs.append(run_setup(setup, threads, models, videos, args.frames))
            print(
                f"ran {setup.label} at {threads} thread(s) in {time.perf_counter() - started:.0f} s",
                flush=True,
            )
    clips = ", ".join(f"{c.video}[{c.start}:+{args.frames}]" for c in CLIPS)
    print(f"\nclips: {clips}\n")
    for line in [*summary_table(runs), "", *stage_table(runs), "", *agreement_table(runs)]:
        print(line)
    print(f"\nload average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
