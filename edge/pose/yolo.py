"""YOLO pose (yolo11n-pose): one-stage person boxes with 17 COCO key points each, then NMS.

The output holds, per anchor, a box, a person score and 17 (x, y, confidence) triples in COCO order.
The first five triples are face points; they are sliced away from the body points, and only COCO 5-16
(which are `BODY_POINTS`, in order) reach `Poses.points`. The face triples are kept only as head
evidence (`Poses.head_points`), which places the head zone inside the edge and is never emitted.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from anonflow.contract.errors import InputError
from anonflow.edge.pose.types import N_HEAD, Poses

OUTPUT = "output0"
N_COCO = 17
N_FACE = 5
N_ROWS = 5 + 3 * N_COCO
PAD_VALUE = 114


def layout(size: int) -> str:
    return (
        f"input 'images' float32 [1,3,{size},{size}] RGB 0-1 letterboxed; output '{OUTPUT}' float32 "
        f"[1,{N_ROWS},A]: per anchor cx,cy,w,h, person score, 17 x (x,y,conf) COCO-17, scores in [0,1]"
    )


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How a frame sits in the square network input: per-axis scale, then offset (left, top) in pixels."""

    frame_w: int
    frame_h: int
    scale_x: float
    scale_y: float
    left: int
    top: int

    def to_frame(self, xy: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Input-pixel (x, y) [..., 2] back to frame pixels."""
        out = np.empty_like(xy, dtype=np.float32)
        out[..., 0] = (xy[..., 0] - self.left) / self.scale_x
        out[..., 1] = (xy[..., 1] - self.top) / self.scale_y
        return out

    def to_input(self, xy: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Frame-pixel (x, y) [..., 2] into input pixels (the inverse of `to_frame`)."""
        out = np.empty_like(xy, dtype=np.float32)
        out[..., 0] = xy[..., 0] * self.scale_x + self.left
        out[..., 1] = xy[..., 1] * self.scale_y + self.top
        return out


def letterbox(frame: npt.NDArray[np.uint8], size: int) -> tuple[npt.NDArray[np.uint8], Letterbox]:
    """The frame scaled to fit a `size` x `size` square keeping its aspect, centred, padded with 114."""
    frame_h, frame_w = frame.shape[:2]
    gain = min(size / frame_h, size / frame_w)
    new_w = min(size, max(1, round(frame_w * gain)))
    new_h = min(size, max(1, round(frame_h * gain)))
    left = (size - new_w) // 2
    top = (size - new_h) // 2
    resized = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    image = np.full((size, size, 3), PAD_VALUE, np.uint8)
    image[top : top + new_h, left : left + new_w] = resized
    return image, Letterbox(frame_w, frame_h, new_w / frame_w, new_h / frame_h, left, top)


def nms_xyxy(
    boxes: npt.NDArray[np.float32], scores: npt.NDArray[np.float32], iou_threshold: float
) -> npt.NDArray[np.intp]:
    """Indices of the boxes kept by greedy non-maximum suppression, best score first.

    boxes: float32 [N, 4] (x_min, y_min, x_max, y_max); scores: float32 [N], positive (OpenCV drops
    boxes scoring 0 or less).
    """
    if len(boxes) == 0:
        return np.zeros(0, np.intp)
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1).astype(np.float64)
    keep = cv2.dnn.NMSBoxes(xywh.tolist(), scores.astype(float).tolist(), 0.0, iou_threshold)
    return np.asarray(keep, np.intp).reshape(-1)


class YoloPoseDecoder:
    """Pre- and post-processing for Ultralytics YOLO pose exports (see `edge.pose.types.PoseDecoder`).

    size: the square network input in pixels (from the model's fixed input shape).
    score_threshold: minimum person score; iou_threshold: NMS overlap above which the weaker box goes.
    Key points outside the frame are clipped to its edge and given score 0: they were not seen.
    """

    input_name = "images"
    output_names = (OUTPUT,)
    output_ranks = (3,)

    def __init__(self, size: int = 640, score_threshold: float = 0.3, iou_threshold: float = 0.45) -> None:
        if size % 32 or not 64 <= size <= 2048:
            raise InputError(f"YOLO pose input size must be a multiple of 32 in [64, 2048], got {size}")
        if not 0.0 < score_threshold < 1.0:
            raise InputError(f"YOLO pose score threshold must be in (0, 1), got {score_threshold}")
        if not 0.0 < iou_threshold <= 1.0:
            raise InputError(f"YOLO pose NMS IoU threshold must be in (0, 1], got {iou_threshold}")
        self.size = size
        self.score_threshold = score_threshold
        self.iou_threshold = iou_threshold
        self.layout = layout(size)

    def prepare(self, frame: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.float32], object]:
        """BGR uint8 [H, W, 3] (checked by the caller) -> float32 [1, 3, size, size] RGB 0-1."""
        image, box = letterbox(frame, self.size)
        tensor = np.empty((1, 3, self.size, self.size), np.float32)
        # One scaled copy per channel, reversed (BGR -> RGB): several times faster than a blob helper.
        for channel in range(3):
            np.multiply(
                image[:, :, 2 - channel], np.float32(1 / 255), out=tensor[0, channel], dtype=np.float32
            )
        return tensor, box

    def decode(self, outputs: dict[str, npt.NDArray[np.float32]], context: object) -> Poses:
        if not isinstance(context, Letterbox):
            raise TypeError(f"expected a Letterbox from prepare(), got {type(context).__name__}")
        raw = outputs.get(OUTPUT)
        if raw is None or raw.ndim != 3 or raw.shape[:2] != (1, N_ROWS):
            got = f"{OUTPUT} {list(raw.shape)}" if raw is not None else f"outputs {sorted(outputs)}"
            raise InputError(f"YOLO pose {got} does not match the expected layout: {self.layout}")
        person = raw[0, 4]
        candidates = np.flatnonzero(person > self.score_threshold)
        if candidates.size == 0:
            return Poses.empty()
        rows = raw[0][:, candidates]
        # Face triples (COCO 0-4) are cut here, before any key point is read.
        body = rows[5 + 3 * N_FACE :].reshape(N_COCO - N_FACE, 3, -1).transpose(2, 0, 1)
        conf = body[..., 2]
        if person.min() < -1e-3 or person.max() > 1 + 1e-3 or conf.min() < -1e-3 or conf.max() > 1 + 1e-3:
            raise InputError(
                "YOLO pose scores lie outside [0, 1] (an export without the final sigmoid?); "
                f"expected layout: {self.layout}"
            )
        cx, cy, w, h = rows[0], rows[1], rows[2], rows[3]
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
        keep = nms_xyxy(boxes, rows[4], self.iou_threshold)
        box: Letterbox = context
        points = box.to_frame(body[keep, :, :2])
        scores = np.clip(conf[keep], 0.0, 1.0).astype(np.float32)
        face = rows[5 : 5 + 3 * N_FACE].reshape(N_FACE, 3, -1).transpose(2, 0, 1)[keep]
        head_points = np.zeros((len(keep), N_HEAD, 2), np.float32)
        head_scores = np.zeros((len(keep), N_HEAD), np.float32)
        head_points[:, :N_FACE] = box.to_frame(face[..., :2])
        head_scores[:, :N_FACE] = np.clip(face[..., 2], 0.0, 1.0)
        # Box and key-point coordinates count pixel edges: the frame spans [0, W] x [0, H].
        outside = (
            (points[..., 0] < 0)
            | (points[..., 1] < 0)
            | (points[..., 0] > box.frame_w)
            | (points[..., 1] > box.frame_h)
        )
        scores[outside] = 0.0
        points[..., 0] = np.clip(points[..., 0], 0, box.frame_w - 1)
        points[..., 1] = np.clip(points[..., 1], 0, box.frame_h - 1)
        return Poses(points, scores, head_points, head_scores)
