"""`anonflow models train-demographics`: labelled anonymous crops in, a verified head-free model out."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from anonflow.contract.errors import AnonflowError, InputError
from anonflow.edge.modelfiles.derived import Sidecar, write_sidecar
from anonflow.edge.modelfiles.registry import model_dir as resolve_model_dir
from anonflow.edge.modelfiles.registry import resolve, sha256_of, spec
from anonflow.models.crops import HEADS, UNKNOWN, load_crops
from anonflow.models.evaluate.attributes import attribute_agreement, predicted_classes
from anonflow.models.report import json_ready
from anonflow.models.train.graph import backbone, extract_features, with_heads
from anonflow.models.train.heads import OUTPUT_LABELS, fit_heads

TRAINED_MODEL = "headfree-demographics"
MIN_CROPS = 8
PROBES = 4  # training crops whose training-time outputs the sidecar keeps, to check a deployed copy


def split(n: int, holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, held-out rows) of a seeded shuffle; at least one held out when holdout > 0."""
    _check_holdout(holdout)
    order = np.random.default_rng(seed).permutation(n)
    held = max(1, round(holdout * n)) if holdout > 0 else 0
    return np.sort(order[held:]), np.sort(order[:held])


def _check_holdout(holdout: float) -> None:
    if not 0.0 <= holdout <= 0.5:
        raise InputError(f"holdout must be in [0, 0.5], got {holdout}")


def train_demographics(
    crops: Path,
    labels: Path | None,
    model_dir: Path | None,
    *,
    output: Path | None = None,
    holdout: float = 0.25,
    seed: int = 0,
    regularisation: float = 1.0,
) -> dict[str, Any]:
    """Train, measure on the held-out crops, export ONNX with its sidecar; returns the report."""
    _check_holdout(holdout)
    target_spec = spec(TRAINED_MODEL, "attributes")
    parent = spec(target_spec.derived_from, "attributes")
    directory = resolve_model_dir(model_dir)
    data = load_crops(crops, labels)
    if len(data) < MIN_CROPS:
        raise InputError(f"{len(data)} labelled crops are too few to train on; need at least {MIN_CROPS}")
    if not (data.labels != UNKNOWN).any():
        raise InputError("every label is unknown: nothing to learn")
    train_rows, held_rows = split(len(data), holdout, seed)

    started = time.perf_counter()
    features_model = backbone(resolve(parent, directory))
    features = extract_features(features_model, data.images)
    heads = fit_heads(features[train_rows], data.labels[train_rows], regularisation)
    seconds = time.perf_counter() - started

    def accuracy(rows: np.ndarray) -> dict[str, Any]:
        predicted = predicted_classes(OUTPUT_LABELS, heads(features[rows]))
        return {h: a.as_dict() for h, a in attribute_agreement(data.labels[rows], predicted).items()}

    target = output if output is not None else directory / target_spec.file
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        onnx.save(with_heads(features_model, heads), str(target))
    except PermissionError as error:
        raise AnonflowError(f"cannot write {target}: {error.strerror}; pass --output PATH") from None
    labelled = {head: int((data.labels[train_rows, h] != UNKNOWN).sum()) for h, head in enumerate(HEADS)}
    details: dict[str, Any] = {
        "crops": len(data),
        "train_crops": len(train_rows),
        "heldout_crops": len(held_rows),
        "train_labelled": labelled,
        "trained_heads": list(heads.trained),
        "regularisation": regularisation,
        "seed": seed,
        "labels": list(OUTPUT_LABELS),
        "heldout": accuracy(held_rows) if len(held_rows) else None,
        "probe": {
            "files": [data.files[i] for i in train_rows[:PROBES]],
            "probabilities": heads(features[train_rows[:PROBES]]).round(6).tolist(),
        },
    }
    details = json_ready(details)
    sidecar = Sidecar(
        name=target_spec.name,
        sha256=sha256_of(target),
        parent_name=parent.name,
        parent_sha256=parent.sha256,
        made_by="anonflow models train-demographics",
        details=details,
    )
    write_sidecar(target, sidecar)
    return json_ready(
        {
            "model": target_spec.name,
            "output": str(target),
            "sha256": sidecar.sha256,
            "seconds": round(seconds, 1),
            "train": accuracy(train_rows),
            **details,
        }
    )


def summary_rows(report: dict[str, Any]) -> list[tuple[str, ...]]:
    """Accuracy per head on the training and held-out crops (correct of labelled)."""

    def cell(result: dict[str, Any] | None, head: str) -> str:
        if not result or not result[head]["labelled"]:
            return "-"
        r = result[head]
        return f"{r['accuracy']:.3f} ({r['correct']}/{r['labelled']})"

    rows: list[tuple[str, ...]] = [("HEAD", "TRAINED", "TRAIN ACCURACY", "HELD-OUT ACCURACY")]
    for head in HEADS:
        trained = "yes" if head in report["trained_heads"] else "no (needs 2+ labelled classes)"
        rows.append((head, trained, cell(report["train"], head), cell(report["heldout"], head)))
    return rows
