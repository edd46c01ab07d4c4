"""Whole-person labelled images -> the head-free crops the gateway would read, cut by the edge's own code.

A folder in the PA-100K layout (`images/` + `labels.csv`, one whole person per image) is placed on a
neutral canvas the size of a camera frame region (the person about as tall as a shopper 3-6 m from a
ceiling camera), run through the edge's pose model, gate and anonymous-crop code, and the one person found
is cut exactly as the gateway cuts it. Images where the edge finds nobody it would classify are dropped
and counted (the gateway would not classify them either). The same images resized whole are kept as the
heads-visible ceiling for measurement only; they never train the head-free model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from anonflow.contract.errors import InputError
from anonflow.edge.config import CropConfig, GateConfig
from anonflow.edge.crop import CLASSIFIER_SIZE, fit_crops, render_crops
from anonflow.edge.gate import passes_gate
from anonflow.edge.modelfiles.registry import default_model
from anonflow.edge.pose.model import PoseModel, load_pose_model
from anonflow.models.crops import LabelledCrops, read_labels

PERSON_HEIGHT = 192  # pixels the person is scaled to on the canvas
CANVAS = (256, 256)  # height, width: room round the person for the pose network's context


@dataclass(frozen=True, slots=True)
class CutCrops:
    """crops: the head-free crops of the people the edge could cut; whole: the same people's whole images
    (heads visible) resized to 160x80, aligned by row; dropped: files the edge found no person in."""

    crops: LabelledCrops
    whole: npt.NDArray[np.uint8]
    dropped: tuple[str, ...]


def is_whole_person_folder(folder: Path) -> bool:
    return (folder / "images").is_dir() and (folder / "labels.csv").is_file()


def place(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The person image scaled to `PERSON_HEIGHT` tall, centred on a grey canvas of `CANVAS`."""
    h, w = image.shape[:2]
    scale = PERSON_HEIGHT / h
    nw = max(1, min(CANVAS[1], round(w * scale)))
    person = cv2.resize(image, (nw, PERSON_HEIGHT), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((*CANVAS, 3), 114, np.uint8)
    y0, x0 = (CANVAS[0] - PERSON_HEIGHT) // 2, (CANVAS[1] - nw) // 2
    canvas[y0 : y0 + PERSON_HEIGHT, x0 : x0 + nw] = person
    return canvas


def cut_headfree(
    folder: Path, model_dir: Path, labels: Path | None = None, pose: PoseModel | None = None
) -> CutCrops:
    """Head-free crops of the whole-person images of `folder` (PA-100K layout), cut as the edge cuts."""
    rows = read_labels(labels if labels is not None else folder / "labels.csv")
    pose = pose if pose is not None else load_pose_model(default_model("pose"), model_dir, threads=2)
    gate, crop = GateConfig(), CropConfig()
    files, crops, whole, classes, dropped = [], [], [], [], []
    for name, label in rows:
        path = folder / "images" / name
        image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
        if image is None:
            raise InputError(f"image {path} is missing or not a readable image")
        frame = place(image)
        poses = pose(frame)
        geometry = fit_crops(poses, frame.shape, crop, gate.point_threshold)
        ok = np.flatnonzero(passes_gate(poses, gate, frame_width=frame.shape[1]) & geometry.valid)
        if not ok.size:
            dropped.append(name)
            continue
        boxes = geometry.boxes[ok]
        biggest = ok[int(np.argmax((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])))]
        crops.append(
            render_crops(
                frame, geometry, poses, crop, which=np.array([biggest]), point_threshold=gate.point_threshold
            )[0]
        )
        whole.append(
            cv2.resize(image, (CLASSIFIER_SIZE[1], CLASSIFIER_SIZE[0]), interpolation=cv2.INTER_AREA)
        )
        files.append(name)
        classes.append(label)
    if not files:
        raise InputError(f"the edge found no person to crop in any image of {folder / 'images'}")
    data = LabelledCrops(
        files=tuple(files),
        images=np.stack(crops),
        labels=np.asarray(classes, np.int64).reshape(len(files), -1),
    )
    return CutCrops(data, np.stack(whole), tuple(dropped))
