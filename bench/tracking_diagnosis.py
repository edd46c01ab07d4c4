"""Why a person shown alone is never tracked: frame by frame through the real edge chain.

Replays the clips of `models.evaluate.people` (same canvas, jitter stream and pauses, so person k sees
exactly the frames the demographics benchmark showed them) and prints, per pose frame of each chosen
person: every detection's tracker score (mean of the core points seen), whether the gate passed it and
why not, whether the crop was usable, the IoU of its box with the person's previous usable box, and the
id the tracker gave it. A closing table sorts the people never tracked by cause.

    python -m bench.tracking_diagnosis ../shared/data/pa100k-train --files-from chain.json --untracked
    python -m bench.tracking_diagnosis ../shared/data/pa100k-train --people 40 --tracker weak_start_hits=3

`--files-from` reads the people (in order) from a `bench.demographics_chain --json` result; `--untracked`
then only replays those that result left untracked (the jitter stream still advances over the others).
`--tracker key=value` overrides a ByteTrack setting, to compare rules on the same frames.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from anonflow.contract.body import POINT_INDEX
from anonflow.edge.appearance import DailyKeys
from anonflow.edge.attributes import load_attribute_model
from anonflow.edge.chain import EdgeChain
from anonflow.edge.config import CameraChainConfig, GateConfig
from anonflow.edge.facecheck import FaceCheck
from anonflow.edge.gate import passes_gate
from anonflow.edge.modelfiles.registry import model_dir as resolve_model_dir
from anonflow.edge.modelfiles.registry import spec
from anonflow.edge.pose.model import choose_pose_model, load_pose_model
from anonflow.edge.pose.types import Poses
from anonflow.edge.tracking.base import TrackAssignment
from anonflow.edge.tracking.bytetrack import ByteTrack, ByteTrackConfig
from anonflow.edge.tracking.iou import iou_matrix
from anonflow.models.crops import read_labels
from anonflow.models.evaluate.people import PAUSE_S, START_MS, ClipSettings, jittered
from anonflow.models.headfree import CANVAS
from anonflow.models.report import table

CORE = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")


@dataclass(frozen=True, slots=True)
class Update:
    """One tracker update as the chain made it: boxes float32 [N, 4], scores float32 [N], ids [N]."""

    boxes: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    dt_s: float
    ids: tuple[str | None, ...]


class RecordingTracker:
    """The chain's tracker, recording what each update was given and gave back."""

    def __init__(self, inner: ByteTrack) -> None:
        self.inner = inner
        self.updates: list[Update] = []

    def update(
        self, boxes: npt.NDArray[np.float32], scores: npt.NDArray[np.float32], dt_s: float
    ) -> TrackAssignment:
        result = self.inner.update(boxes, scores, dt_s)
        self.updates.append(Update(boxes.copy(), scores.copy(), dt_s, result.track_ids))
        return result

    def predict(self, dt_s: float) -> tuple[npt.NDArray[np.float32], tuple[str, ...]]:
        return self.inner.predict(dt_s)


def gate_reason(poses: Poses, row: int, gate: GateConfig) -> str:
    """Why the whole-person rule refuses `row` (the cut-off rules are not unpicked here)."""
    scores = poses.scores[row]
    weak = [n for n in CORE if scores[POINT_INDEX[n]] < gate.point_threshold]
    reasons = []
    if weak:
        reasons.append("weak " + "/".join(n.replace("left_", "l").replace("right_", "r") for n in weak))
    confident = int((scores >= gate.point_threshold).sum())
    if confident < gate.min_points:
        reasons.append(f"{confident} points")
    width = float(
        np.linalg.norm(
            poses.points[row, POINT_INDEX["left_shoulder"]] - poses.points[row, POINT_INDEX["right_shoulder"]]
        )
    )
    if width < gate.min_shoulder_width:
        reasons.append(f"shoulders {width:.1f}px")
    return ",".join(reasons) or "?"


def refusal(poses: Poses, gate: GateConfig) -> str:
    """Why nobody in a frame passed, in the words of the closing table."""
    if len(poses) == 0:
        return "nobody detected"
    core = poses.scores[:, [POINT_INDEX[n] for n in CORE]] >= gate.point_threshold
    shoulders = core[:, :2].all(axis=1)
    if not (shoulders & core[:, 2:].any(axis=1)).any():
        # Nobody has a shoulder line with a hip: the pose network grouped the body into pieces, or saw
        # only one side.
        if len(poses) > 1 and core.any(axis=0).sum() > core.sum(axis=1).max():
            return "body split into fragments"
        return "a shoulder unseen"
    width = np.linalg.norm(
        poses.points[:, POINT_INDEX["left_shoulder"]] - poses.points[:, POINT_INDEX["right_shoulder"]], axis=1
    )
    if (shoulders & (width < gate.min_shoulder_width)).any():
        return "shoulders overlap (side view)"
    return "other gate rule"


def replay(
    chain: EdgeChain,
    recorder: RecordingTracker,
    *,
    folder: Path,
    people: list[str],
    wanted: set[str],
    settings: ClipSettings,
) -> dict[str, dict[str, Any]]:
    """Per wanted person: their frame lines and the cause if never tracked."""
    rng = np.random.default_rng(settings.seed)
    blank = np.full((*CANVAS, 3), 114, np.uint8)
    step_ms = 1000.0 / settings.fps
    now = float(START_MS)
    gate = chain.config.gate
    out: dict[str, dict[str, Any]] = {}
    for name in people:
        if name not in wanted:  # advance the jitter stream and the clock exactly as the benchmark does
            for _ in range(settings.frames):
                rng.uniform(-settings.scale, settings.scale)
                rng.uniform(-settings.shift_px, settings.shift_px, 2)
            now += settings.frames * step_ms + PAUSE_S * 1000
            continue
        image = cv2.imread(str(folder / "images" / name), cv2.IMREAD_COLOR)
        lines: list[str] = []
        ids: set[str] = set()
        usable_pattern = ""
        refusals: Counter[str] = Counter()
        previous: npt.NDArray[np.float32] | None = None
        for frame_no in range(settings.frames):
            before = len(recorder.updates)
            result = chain.process(jittered(np.asarray(image, np.uint8), rng, settings), int(now))
            now += step_ms
            if not result.pose_ran:
                continue
            update = recorder.updates[before]
            poses, geometry = result.poses, result.geometry
            if poses is None or geometry is None:
                raise RuntimeError("the chain ran pose but returned no poses")
            passed = passes_gate(poses, gate, frame_width=CANVAS[1]) & geometry.valid
            cells = []
            chosen = 0
            any_usable = False
            for row in range(len(poses)):
                core = poses.scores[row, [POINT_INDEX[n] for n in CORE]]
                seen = core >= gate.point_threshold
                score = float(core[seen].mean()) if seen.any() else 0.0
                usable = bool(passed[row])
                cell = f"s={score:.2f} core=" + "/".join(f"{v:.2f}" for v in core)
                if usable:
                    box = update.boxes[chosen]
                    overlap = (
                        float(iou_matrix(previous[None], box[None])[0, 0])
                        if previous is not None
                        else float("nan")
                    )
                    previous = box
                    tid = update.ids[chosen]
                    chosen += 1
                    any_usable = True
                    cell += f" usable iou={overlap:.2f} id={'-' if tid is None else tid[:4]}"
                    if tid:
                        ids.add(tid)
                elif not geometry.valid[row]:
                    cell += " crop-unusable(" + gate_reason(poses, row, gate) + ")"
                else:
                    cell += " gated(" + gate_reason(poses, row, gate) + ")"
                cells.append(cell)
            usable_pattern += "U" if any_usable else "."
            if not any_usable:
                refusals[refusal(poses, gate)] += 1
            lines.append(f"  f{frame_no:02d} " + (" | ".join(cells) or "nobody"))
        for _ in range(2 * chain.config.detect_every):
            now += PAUSE_S * 1000 / (2 * chain.config.detect_every)
            chain.process(blank, int(now))
        out[name] = {
            "lines": lines,
            "pattern": usable_pattern,
            "tracked": bool(ids),
            "refusal": refusals.most_common(1)[0][0] if refusals else "",
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="whole-person folder (images/ + labels.csv)")
    parser.add_argument("--model-dir", type=Path)
    parser.add_argument("--files-from", type=Path, help="a bench.demographics_chain --json result")
    parser.add_argument("--untracked", action="store_true", help="only those it left untracked")
    parser.add_argument("--people", type=int, default=0, help="only the first N people (0: all)")
    parser.add_argument("--tracker", action="append", default=[], help="ByteTrack setting key=value")
    parser.add_argument("--quiet", action="store_true", help="only the closing table")
    args = parser.parse_args(argv)
    directory = resolve_model_dir(args.model_dir)
    if args.files_from:
        result = json.loads(args.files_from.read_text(encoding="utf-8"))
        outcomes = next(iter(result["models"].values()))["outcomes"]
        people = [o["file"] for o in outcomes]
        wanted = {o["file"] for o in outcomes if not (args.untracked and o["tracks"])}
    else:
        people = [row[0] for row in read_labels(args.folder / "labels.csv")]
        wanted = set(people)
    if args.people:
        people = people[: args.people]
    overrides: dict[str, Any] = {}
    for item in args.tracker:
        key, _, value = item.partition("=")
        overrides[key] = json.loads(value)
    config = CameraChainConfig(attribute_model="person-attributes-0230")
    recorder = RecordingTracker(ByteTrack(ByteTrackConfig(**overrides)))
    chain = EdgeChain(
        config=config,
        store_id="evaluation",
        camera_id="people",
        pose_model=load_pose_model(choose_pose_model(config.pose_model, directory), directory, threads=2),
        attribute_model=load_attribute_model(
            spec(config.attribute_model, "attributes"), directory, threads=1
        ),
        tracker=recorder,
        face_check=FaceCheck(config.face_check),
        appearance_key=DailyKeys(None, "evaluation", "UTC"),
    )
    found = replay(
        chain,
        recorder,
        folder=args.folder,
        people=people,
        wanted=wanted & set(people),
        settings=ClipSettings(),
    )
    causes: Counter[str] = Counter()
    rows = [("PERSON", "USABLE POSE FRAMES", "CAUSE")]
    for name, person in found.items():
        if person["tracked"]:
            causes["tracked"] += 1
            continue
        pattern = person["pattern"]
        cause = (
            f"refused: {person['refusal']}"
            if "U" not in pattern
            else f"{pattern.count('U')} usable, never confirmed"
        )
        causes[cause] += 1
        rows.append((name, pattern, cause))
        if not args.quiet:
            print(f"{name} [{pattern}]")
            print("\n".join(person["lines"]))
    print(table(rows))
    print(", ".join(f"{k}: {v}" for k, v in sorted(causes.items())))
    print(f"{len(found)} people replayed, tracker {overrides or 'defaults'}; load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
