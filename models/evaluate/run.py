"""`anonflow models evaluate`: run the models on real frames and crops, and measure what they agree on."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anonflow.contract.errors import InputError
from anonflow.edge.modelfiles.registry import model_dir as resolve_model_dir
from anonflow.edge.modelfiles.registry import spec
from anonflow.models.evaluate.attributes import attribute_agreement, predicted_classes
from anonflow.models.evaluate.counts import count_agreement, read_counts
from anonflow.models.evaluate.keypoints import KeypointAgreement, compare
from anonflow.models.report import json_ready


@dataclass(frozen=True, slots=True)
class EvaluationRequest:
    """What to evaluate. Frames for key points: `frames` frames, every `stride`-th from the first."""

    model_dir: Path | None
    video: Path | None = None
    reference: str = "openpose-lightweight"
    candidate: str | None = None
    frames: int = 50
    stride: int = 1
    input_height: int | None = None
    tolerance: float = 0.2
    point_threshold: float = 0.2
    counts: Path | None = None
    crops: Path | None = None
    attribute_model: str = "person-attributes-0230"
    threads: int = 1


def evaluate(request: EvaluationRequest) -> dict[str, Any]:
    """The result as a JSON-ready dict (nan written as null)."""
    directory = resolve_model_dir(request.model_dir)
    result: dict[str, Any] = {}
    if request.candidate or request.counts:
        result.update(_evaluate_pose(request, directory))
    if request.crops:
        result["attributes"] = _evaluate_attributes(request, directory)
    return json_ready(result)


def _evaluate_pose(request: EvaluationRequest, directory: Path) -> dict[str, Any]:
    from anonflow.edge.config import GateConfig
    from anonflow.edge.gate import passes_gate
    from anonflow.edge.pose.model import load_pose_model
    from anonflow.edge.video import VideoFile

    if request.video is None:
        raise InputError("--video is needed to compare pose models or count people")
    if request.frames < 1 or request.stride < 1:
        raise InputError(f"frames and stride must be at least 1, got {request.frames}, {request.stride}")
    if request.tolerance <= 0:
        raise InputError(f"tolerance must be positive, got {request.tolerance}")
    names = [request.reference] + ([request.candidate] if request.candidate else [])
    models = [
        load_pose_model(spec(n, "pose"), directory, request.threads, request.input_height) for n in names
    ]
    compared = set(range(0, request.frames * request.stride, request.stride)) if request.candidate else set()
    labelled = read_counts(request.counts) if request.counts else {}
    wanted = compared | set(labelled)

    agreement = KeypointAgreement()
    times: list[list[float]] = [[] for _ in models]
    counted: list[dict[str, dict[int, int]]] = [{"detected": {}, "gated": {}} for _ in models]
    gate = GateConfig()
    for frame in VideoFile(request.video):
        if frame.index > max(wanted):
            break
        if frame.index not in wanted:
            continue
        poses = []
        for m, model in enumerate(models):
            found, timing = model.infer(frame.image)
            poses.append(found)
            times[m].append(timing.inference_ms)
            counted[m]["detected"][frame.index] = len(found)
            gated = passes_gate(found, gate, frame_width=frame.image.shape[1])
            counted[m]["gated"][frame.index] = int(gated.sum())
        if frame.index in compared:
            agreement += compare(poses[0], poses[1], request.tolerance, request.point_threshold)

    out: dict[str, Any] = {
        "video": request.video.name,
        "input_height": request.input_height,
        "inference_ms_median": {n: statistics.median(t) for n, t in zip(names, times, strict=True) if t},
    }
    if request.candidate:
        if agreement.frames < len(compared):
            raise InputError(f"video {request.video} has fewer than the {len(compared)} frames asked for")
        out["keypoints"] = {
            "reference": request.reference,
            "candidate": request.candidate,
            "tolerance_torso": request.tolerance,
            "point_threshold": request.point_threshold,
            **agreement.as_dict(),
        }
    if labelled:
        out["counts"] = {
            "labels": request.counts.name if request.counts else None,
            **{
                name: {kind: count_agreement(labelled, c[kind]).as_dict() for kind in ("detected", "gated")}
                for name, c in zip(names, counted, strict=True)
            },
        }
    return out


def _evaluate_attributes(request: EvaluationRequest, directory: Path) -> dict[str, Any]:
    from anonflow.edge.attributes import load_attribute_model
    from anonflow.models.crops import load_crops

    assert request.crops is not None
    crops = load_crops(request.crops)
    model = load_attribute_model(spec(request.attribute_model, "attributes"), directory, request.threads)
    scores = model(crops.images)
    predicted = predicted_classes(scores.labels, scores.probabilities)
    heads = attribute_agreement(crops.labels, predicted)
    return {
        "model": request.attribute_model,
        "crops": len(crops),
        "heads": {head: agreement.as_dict() for head, agreement in heads.items()},
    }


def summary_rows(result: dict[str, Any]) -> list[tuple[str, ...]]:
    """A short table of the headline figures."""
    rows: list[tuple[str, ...]] = [("MEASURE", "VALUE")]
    for name, ms in result.get("inference_ms_median", {}).items():
        rows.append((f"inference {name}", f"{ms:.1f} ms/frame (median)"))
    if "keypoints" in result:
        k = result["keypoints"]
        rows.append((f"PTK @{k['tolerance_torso']} torso", _fmt(k["ptk"], "%", 1)))
        rows.append(("EPE", _fmt(k["epe_px"], " px", 2)))
        rows.append(("points kept / reference", f"{k['kept_points']} / {k['reference_points']}"))
        rows.append(("people matched / reference", f"{k['matched_people']} / {k['reference_people']}"))
    for name, kinds in result.get("counts", {}).items():
        if isinstance(kinds, dict):
            for kind, c in kinds.items():
                rows.append(
                    (f"count {name} ({kind})", f"RMSE {c['rmse']:.2f}  MAE {c['mae']:.2f}  n={c['frames']}")
                )
    if "attributes" in result:
        for head, h in result["attributes"]["heads"].items():
            rows.append(
                (
                    f"{result['attributes']['model']} {head}",
                    f"{_fmt(h['accuracy'], '', 3)} of {h['labelled']}",
                )
            )
    return rows


def _fmt(value: float | None, unit: str, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"
