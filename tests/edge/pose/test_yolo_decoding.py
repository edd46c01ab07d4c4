"""YOLO pose decoding pieces: letterbox, NMS, decoding a hand-made output, and the real model's face rows."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from anonflow.contract.errors import InputError
from anonflow.edge.pose.model import PoseModel
from anonflow.edge.pose.yolo import N_ROWS, OUTPUT, PAD_VALUE, Letterbox, YoloPoseDecoder, letterbox, nms_xyxy

FrameReader = Callable[[str, int], np.ndarray]


@pytest.mark.parametrize(
    ("frame_hw", "size", "content"),
    [
        ((432, 768), 640, (0, 140, 640, 360)),
        ((270, 480), 640, (0, 140, 640, 360)),
        ((360, 480), 640, (0, 80, 640, 480)),
        ((1000, 500), 640, (160, 0, 320, 640)),
        ((640, 640), 640, (0, 0, 640, 640)),
        ((3, 2), 320, (53, 0, 213, 320)),
    ],
)
def test_letterbox_places_the_frame(
    frame_hw: tuple[int, int], size: int, content: tuple[int, int, int, int]
) -> None:
    """content: (left, top, width, height) of the scaled frame inside the square."""
    frame = np.full((*frame_hw, 3), 7, np.uint8)
    image, box = letterbox(frame, size)
    left, top, width, height = content
    assert image.shape == (size, size, 3)
    assert (box.left, box.top) == (left, top)
    inside = np.zeros((size, size), bool)
    inside[top : top + height, left : left + width] = True
    assert np.all(image[inside] == 7) and np.all(image[~inside] == PAD_VALUE)


@pytest.mark.parametrize("frame_hw", [(432, 768), (1000, 500), (3, 2), (640, 640)])
def test_letterbox_round_trip(frame_hw: tuple[int, int]) -> None:
    h, w = frame_hw
    _, box = letterbox(np.zeros((h, w, 3), np.uint8), 640)
    points = np.array([[0, 0], [w, h], [w / 3, h / 2], [-5, h + 5]], np.float32)
    np.testing.assert_allclose(box.to_frame(box.to_input(points)), points, atol=1e-3)
    corners = box.to_input(np.array([[0, 0], [w, h]], np.float32))
    assert np.all(corners >= 0) and np.all(corners <= 640 + 1e-3)


def _boxes(rows: list[list[float]]) -> np.ndarray:
    return np.array(rows, np.float32).reshape(-1, 4)


@pytest.mark.parametrize(
    ("boxes", "scores", "threshold", "kept"),
    [
        (_boxes([[0, 0, 10, 10], [1, 0, 11, 10]]), [0.9, 0.8], 0.45, [0]),  # IoU 0.82
        (_boxes([[0, 0, 10, 10], [1, 0, 11, 10]]), [0.7, 0.8], 0.45, [1]),  # the better one stays
        (_boxes([[0, 0, 10, 10], [6, 0, 16, 10]]), [0.9, 0.8], 0.45, [0, 1]),  # IoU 0.25
        (_boxes([[0, 0, 10, 10], [6, 0, 16, 10]]), [0.9, 0.8], 0.2, [0]),
        (_boxes([[0, 0, 10, 10], [50, 50, 60, 60], [0, 0, 10, 9]]), [0.5, 0.6, 0.9], 0.45, [2, 1]),
        (_boxes([]), [], 0.45, []),
    ],
    ids=["overlap", "better-stays", "apart", "strict-threshold", "order-by-score", "empty"],
)
def test_nms(boxes: np.ndarray, scores: list[float], threshold: float, kept: list[int]) -> None:
    assert nms_xyxy(boxes, np.array(scores, np.float32), threshold).tolist() == kept


def _output(
    people: list[tuple[float, tuple[float, float, float, float], np.ndarray]], anchors: int = 6
) -> np.ndarray:
    """A raw [1, 56, anchors] output: (score, (cx, cy, w, h), key points [17, 3]) per anchor."""
    raw = np.zeros((1, N_ROWS, anchors), np.float32)
    for i, (score, box, keypoints) in enumerate(people):
        raw[0, :4, i] = box
        raw[0, 4, i] = score
        raw[0, 5:, i] = keypoints.reshape(-1)
    return raw


def _keypoints(x0: float, y0: float, conf: float = 0.9) -> np.ndarray:
    """17 COCO points: face points at the top (conf 0.99), body points down a column from (x0, y0)."""
    points = np.zeros((17, 3), np.float32)
    points[:5] = [x0, y0 - 30, 0.99]
    for k in range(5, 17):
        points[k] = [x0 + (k % 2) * 20, y0 + 10 * (k - 5), conf]
    return points


def test_decode_hand_made_output() -> None:
    # Frame 768 x 432 -> letterbox scale 640/768, offset top 140.
    box = Letterbox(frame_w=768, frame_h=432, scale_x=640 / 768, scale_y=360 / 432, left=0, top=140)
    first = _keypoints(100, 200)
    first[16] = [700, 560, 0.9]  # an ankle below the picture: inside the square, outside the frame
    raw = _output(
        [
            (0.9, (120, 260, 60, 160), first),
            (0.8, (122, 262, 60, 160), _keypoints(101, 201)),  # the same person, weaker: suppressed
            (0.7, (400, 300, 60, 160), _keypoints(380, 240, conf=0.6)),
            (0.1, (500, 300, 60, 160), _keypoints(480, 240)),  # below the score threshold
        ]
    )
    poses = YoloPoseDecoder(score_threshold=0.3).decode({OUTPUT: raw}, box)

    assert len(poses) == 2
    # COCO 5..16 are exactly BODY_POINTS; coordinates leave the letterbox.
    expected = box.to_frame(first[5:, :2])
    np.testing.assert_allclose(poses.points[0, :11], expected[:11], atol=1e-4)
    assert poses.scores[0, :11].tolist() == pytest.approx([0.9] * 11)
    assert poses.scores[0, 11] == 0.0  # off the frame: not seen
    assert 0 <= poses.points[0, 11, 0] <= 767 and 0 <= poses.points[0, 11, 1] <= 431
    assert poses.scores[1].tolist() == pytest.approx([0.6] * 12)
    # nothing near the face points' position survives
    face_y = box.to_frame(np.array([[100, 170]], np.float32))[0, 1]
    assert np.all(poses.points[0, :, 1] > face_y + 1)


def test_decode_nobody() -> None:
    raw = _output([(0.2, (100, 100, 50, 50), _keypoints(100, 100))])
    box = Letterbox(640, 640, 1.0, 1.0, 0, 0)
    assert len(YoloPoseDecoder(score_threshold=0.3).decode({OUTPUT: raw}, box)) == 0


def test_logit_confidences_are_refused() -> None:
    logits = _keypoints(100, 100, conf=3.2)  # an export without the final sigmoid
    raw = _output([(0.9, (100, 100, 50, 50), logits)])
    with pytest.raises(InputError, match=r"outside \[0, 1\].*expected layout"):
        YoloPoseDecoder().decode({OUTPUT: raw}, Letterbox(640, 640, 1.0, 1.0, 0, 0))


@pytest.mark.parametrize(
    "outputs",
    [
        {OUTPUT: np.zeros((1, 57, 8400), np.float32)},
        {OUTPUT: np.zeros((56, 8400), np.float32)},
        {OUTPUT: np.zeros((1, 8400, 56), np.float32)},
        {"output1": np.zeros((1, 56, 8400), np.float32)},
    ],
    ids=["rows", "rank", "transposed", "name"],
)
def test_bad_layout_names_expected_layout(outputs: dict[str, np.ndarray]) -> None:
    with pytest.raises(InputError, match=r"expected layout: .*output0.*\[1,56,A\]"):
        YoloPoseDecoder().decode(outputs, Letterbox(640, 640, 1.0, 1.0, 0, 0))


@pytest.mark.parametrize(
    "kwargs",
    [{"size": 600}, {"score_threshold": 0.0}, {"score_threshold": 1.0}, {"iou_threshold": 0.0}],
)
def test_bad_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(InputError, match="YOLO pose"):
        YoloPoseDecoder(**kwargs)  # type: ignore[arg-type]


def test_prepare() -> None:
    frame = np.zeros((432, 768, 3), np.uint8)
    frame[..., 0], frame[..., 2] = 255, 51  # blue and a little red
    tensor, box = YoloPoseDecoder().prepare(frame)
    assert tensor.shape == (1, 3, 640, 640) and tensor.dtype == np.float32
    assert isinstance(box, Letterbox) and box.top == 140
    # RGB order, 0-1 scale, pad 114/255
    assert tensor[0, :, 320, 320].tolist() == pytest.approx([0.2, 0.0, 1.0])
    assert tensor[0, :, 0, 0].tolist() == pytest.approx([114 / 255] * 3)


def test_face_rows_are_never_read(
    release_pose_model: Callable[[str], PoseModel], video_frame: FrameReader
) -> None:
    """Garbage in the five face triples of every anchor changes nothing: they are cut before use."""
    model = release_pose_model("yolo-pose")
    frame = video_frame("store-aisle-detection.gif", 0)
    tensor, context = model.decoder.prepare(frame)
    raw = model.session.run([OUTPUT], {model.decoder.input_name: tensor})[0]
    clean = model.decoder.decode({OUTPUT: raw}, context)
    spoiled = raw.copy()
    spoiled[0, 5:20] = np.nan
    after = model.decoder.decode({OUTPUT: spoiled}, context)
    assert len(clean) == 2
    np.testing.assert_array_equal(clean.points, after.points)
    np.testing.assert_array_equal(clean.scores, after.scores)
