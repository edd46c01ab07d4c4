"""`anonflow models evaluate`: PTK/EPE definitions on built poses, then the command on real frames, crops."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from anonflow.contract.body import POINT_INDEX
from anonflow.edge.attributes import load_attribute_model
from anonflow.edge.demographics import GENDER_MARGIN
from anonflow.edge.modelfiles.registry import default_model
from anonflow.edge.pose.types import Poses
from anonflow.models.crops import load_crops, read_labels
from anonflow.models.evaluate.attributes import HeadAgreement, attribute_agreement, predicted_classes
from anonflow.models.evaluate.counts import count_agreement, read_counts
from anonflow.models.evaluate.demographics import at_coverage
from anonflow.models.evaluate.keypoints import compare, torso_heights

Cli = Callable[..., Any]  # the `cli` fixture: run(*argv) -> Run(code, out, err)
COUNTS = Path(__file__).parent / "data" / "store-aisle-detection.counts.csv"

# One person, torso height 60 px (shoulder midpoint y 100, hip midpoint y 160), all 12 points confident.
_PERSON = np.array(
    [[80 + 20 * (-1) ** i, 100 + 30 * (i // 2)] for i in range(12)], np.float32
)  # l/r pairs at x 60 / 100, rows every 30 px: shoulders 100, elbows 130, wrists 160 ...
_PERSON[[POINT_INDEX["left_hip"], POINT_INDEX["right_hip"]], 1] = 160


def _poses(*people: np.ndarray, missing: tuple[int, ...] = ()) -> Poses:
    points = np.stack(people).astype(np.float32) if people else np.zeros((0, 12, 2), np.float32)
    scores = np.full(points.shape[:2], 0.9, np.float32)
    scores[:, list(missing)] = 0.0
    return Poses(points, scores)


def _shift(dx: float, points: tuple[int, ...] = tuple(range(12))) -> np.ndarray:
    moved = _PERSON.copy()
    moved[list(points), 0] += dx
    return moved


SHOULDERS_AND_HIPS = tuple(
    POINT_INDEX[p] for p in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
)


@pytest.mark.parametrize(
    ("reference", "candidate", "expected"),
    [
        (
            _poses(_PERSON),
            _poses(_PERSON),
            {"ptk": 100.0, "epe_px": 0.0, "matched_people": 1, "extra_points": 0},
        ),
        # 0.15 torso heights (9 px) is within the 0.2 tolerance; 0.3 (18 px) is not.
        (_poses(_PERSON), _poses(_shift(9.0)), {"ptk": 100.0, "epe_px": 9.0}),
        (_poses(_PERSON), _poses(_shift(18.0, (10, 11))), {"ptk": 100 * 10 / 12, "epe_px": 3.0}),
        # A missed person loses all their points; a hallucinated one adds extra points, not PTK.
        (_poses(_PERSON), _poses(), {"ptk": 0.0, "epe_px": math.nan, "matched_people": 0}),
        (_poses(), _poses(_PERSON), {"reference_points": 0, "extra_points": 12, "ptk": math.nan}),
        # A point the candidate misses is not kept, and does not enter EPE.
        (_poses(_PERSON), _poses(_PERSON, missing=(10,)), {"ptk": 100 * 11 / 12, "error_count": 11}),
        # Without shoulders and hips there is no torso scale: points are set aside, not judged.
        (
            _poses(_PERSON, missing=SHOULDERS_AND_HIPS),
            _poses(_PERSON),
            {"reference_points": 0, "unscaled_points": 8, "extra_points": 4},
        ),
        # Order does not matter: people are paired by distance.
        (
            _poses(_PERSON, _shift(200.0)),
            _poses(_shift(200.0), _shift(3.0)),
            {"ptk": 100.0, "epe_px": 1.5, "matched_people": 2},
        ),
        # Too far apart to be the same person (beyond one torso height).
        (_poses(_PERSON), _poses(_shift(70.0)), {"ptk": 0.0, "matched_people": 0, "extra_points": 12}),
    ],
    ids=[
        "same",
        "within",
        "two-beyond",
        "missed",
        "hallucinated",
        "point-missed",
        "unscaled",
        "order",
        "far",
    ],
)
def test_keypoint_agreement(reference: Poses, candidate: Poses, expected: dict[str, float]) -> None:
    result = compare(reference, candidate, tolerance=0.2, point_threshold=0.2).as_dict()

    for key, value in expected.items():
        if math.isnan(value):
            assert math.isnan(result[key]), (key, result)
        else:
            assert result[key] == pytest.approx(value), (key, result)


def test_torso_height_uses_the_sides_it_sees() -> None:
    poses = _poses(_PERSON, _PERSON, missing=(POINT_INDEX["left_shoulder"],))
    poses.scores[1, [POINT_INDEX["left_hip"], POINT_INDEX["right_hip"]]] = 0.0

    heights = torso_heights(poses, 0.2)

    # Right shoulder (100, 100) to hip midpoint (80, 160); second person has no hips.
    assert heights[0] == pytest.approx(math.hypot(20, 60))
    assert math.isnan(heights[1])


@pytest.mark.parametrize(
    ("labelled", "counted", "expected", "error"),
    [
        ({0: 2, 1: 3}, {0: 2, 1: 3, 2: 9}, (2, 0.0, 0.0, 0.0), None),
        ({0: 2, 1: 3}, {0: 1, 1: 6}, (2, math.sqrt(5), 2.0, 1.0), None),
        ({0: 2, 5: 3}, {0: 2}, None, "labelled frames [5] were not in the video"),
    ],
)
def test_count_agreement(
    labelled: dict[int, int], counted: dict[int, int], expected: tuple[float, ...] | None, error: str | None
) -> None:
    if error:
        with pytest.raises(Exception, match=error.replace("[", r"\[").replace("]", r"\]")):
            count_agreement(labelled, counted)
        return
    result = count_agreement(labelled, counted)
    assert (result.frames, result.rmse, result.mae, result.bias) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("frame,count\n0,2\n3,2\n", None),
        ("frame,people\n0,2\n", "must have the header frame,count"),
        ("frame,count\n0,two\n", ":2: frame and count must be whole numbers"),
        ("frame,count\n0,2\n0,3\n", ":3: frame 0 is labelled twice"),
        ("frame,count\n-1,2\n", "must not be negative"),
        ("frame,count\n", "has no rows"),
    ],
)
def test_read_counts(tmp_path: Path, text: str, error: str | None) -> None:
    path = tmp_path / "counts.csv"
    path.write_text(text)
    if error is None:
        assert read_counts(path) == {0: 2, 3: 2}
        return
    with pytest.raises(Exception, match=error):
        read_counts(path)


def test_attribute_agreement_counts_unknown_readings_as_wrong() -> None:
    truth = np.array([[1, -1, 0], [0, 2, 1], [1, 2, -1], [0, -1, -1]])
    predicted = np.array([[1, 0, 0], [-1, 2, 2], [0, 2, 0], [0, -1, 1]])

    result = attribute_agreement(truth, predicted)

    assert result["gender"] == HeadAgreement(labelled=4, predicted=3, correct=2)
    assert result["age_group"] == HeadAgreement(labelled=2, predicted=2, correct=2)
    assert result["orientation"] == HeadAgreement(labelled=2, predicted=2, correct=1)
    assert result["gender"].accuracy == 0.5 and result["gender"].coverage == 0.75


def test_predicted_classes_read_probabilities_as_the_edge_does() -> None:
    labels = ("male", "age_0_17", "age_18_34", "age_35_54", "age_55_plus", "front", "back", "side")
    probabilities = np.array(
        [
            [0.9, 0.1, 0.6, 0.2, 0.1, 0.2, 0.7, 0.1],
            [0.55, 0.0, 0.1, 0.1, 0.8, 0.5, 0.2, 0.3],  # gender within the margin: unknown
            [0.1, 0.7, 0.1, 0.1, 0.1, 0.1, 0.1, 0.8],
        ],
        np.float32,
    )

    assert predicted_classes(labels, probabilities).tolist() == [
        [1, 1, 1],
        [-1, 2, 0],
        [0, 0, 2],
    ]  # bands read as their age group
    assert predicted_classes(("male", "hat"), probabilities[:, :2]).tolist() == [
        [1, -1, -1],
        [-1, -1, -1],
        [0, -1, -1],
    ]


def test_evaluate_int8_against_float_with_counts(
    cli: Cli, int8_model_dir: Path, video_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "result.json"

    run = cli(
        "evaluate", "--model-dir", int8_model_dir, "--video", video_dir / "store-aisle-detection.gif",
        "--candidate", "openpose-lightweight-int8", "--frames", "4", "--stride", "10",
        "--counts", COUNTS, "--threads", "2", "--output", out,
    )  # fmt: skip

    assert run.code == 0, run.err
    result = json.loads(out.read_text())
    keypoints = result["keypoints"]
    assert keypoints["frames"] == 4 and keypoints["reference_people"] >= 8
    assert 90.0 < keypoints["ptk"] <= 100.0 and 0.0 < keypoints["epe_px"] < 3.0
    labelled = read_counts(COUNTS)
    for model in ("openpose-lightweight", "openpose-lightweight-int8"):
        detected = result["counts"][model]["detected"]
        assert detected["frames"] == len(labelled)
        assert detected["mae"] < 1.0  # at most one person off on average in this clear aisle
    assert "PTK @0.2 torso" in run.out and "count openpose-lightweight (gated)" in run.out


def test_evaluate_a_model_against_itself_is_perfect(
    cli: Cli, writable_models: Path, video_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "self.json"

    run = cli(
        "evaluate", "--model-dir", writable_models, "--video", video_dir / "vtest-480x360.avi",
        "--candidate", "openpose-lightweight", "--frames", "2", "--stride", "50", "--output", out,
    )  # fmt: skip

    assert run.code == 0, run.err
    keypoints = json.loads(out.read_text())["keypoints"]
    assert keypoints["reference_points"] > 20
    assert keypoints["ptk"] == 100.0 and keypoints["epe_px"] == 0.0 and keypoints["extra_points"] == 0


def test_evaluate_attributes_on_labelled_crops(
    cli: Cli, writable_models: Path, labelled_crops: Path, tmp_path: Path
) -> None:
    out = tmp_path / "attributes.json"

    run = cli("evaluate", "--model-dir", writable_models, "--crops", labelled_crops, "--output", out)

    assert run.code == 0, run.err
    result = json.loads(out.read_text())["attributes"]
    # The labels are the same network's readings (P(male) > 0.5): it agrees wherever it is outside the
    # edge's gender margin, and is unknown (so wrong) inside it.
    crops = load_crops(labelled_crops)
    male = load_attribute_model(default_model("attributes"), writable_models)(crops.images).probabilities[
        :, 0
    ]
    confident = int((np.abs(male - 0.5) >= GENDER_MARGIN).sum())
    assert result["crops"] == len(read_labels(labelled_crops / "labels.csv")) >= 10
    assert result["heads"]["gender"]["labelled"] == len(crops)
    assert result["heads"]["gender"]["correct"] == result["heads"]["gender"]["predicted"] == confident
    assert result["heads"]["orientation"]["predicted"] == 0  # this model has no orientation output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "nothing to evaluate"),
        (["--candidate", "openpose-lightweight-int8"], "--video is needed"),
        (
            ["--video", "{videos}/store-aisle-detection.gif", "--candidate", "nope"],
            "unknown pose model 'nope'",
        ),
        (
            ["--video", "{videos}/store-aisle-detection.gif", "--candidate", "openpose-lightweight-int8"],
            "has no sidecar",
        ),
        (["--crops", "{tmp}"], "labels file"),
    ],
    ids=["nothing", "no-video", "unknown-model", "int8-not-made", "no-labels"],
)
def test_evaluate_bad_input_is_one_line(
    cli: Cli, writable_models: Path, video_dir: Path, tmp_path: Path, args: list[str], expected: str
) -> None:
    (writable_models / "pose" / "human-pose-estimation-0001-int8.onnx").write_bytes(b"not made by quantize")
    filled = [a.format(videos=video_dir, tmp=tmp_path) for a in args]

    run = cli("evaluate", "--model-dir", writable_models, *filled)

    assert run.code == 2
    assert expected in run.err and len(run.err.strip().splitlines()) == 1


# P(male) of ten people (truth 1 = male, -1 unlabelled); distances from 0.5 off the 0.01 grid, two per step.
_P = np.array([0.925, 0.075, 0.815, 0.185, 0.285, 0.715, 0.445, 0.555, 0.5, 0.52], np.float32)
_TRUTH = np.array([1, 0, 1, 0, 0, 0, 0, 1, 1, -1], np.int64)


@pytest.mark.parametrize(
    ("coverage", "margin", "named", "accuracy", "error"),
    [
        (0.5, 0.21, 6, 5 / 6, None),  # the strictest margin naming >= half the 9 labelled: 6 named
        (0.7, 0.05, 8, 7 / 8, None),  # 0.06 would name only 6 of 9 (0.67)
        (1.0, 0.0, 8, 7 / 8, None),  # an exact 0.5 is never named, whatever the target
        (0.0, 0.0, 0, 0.0, "coverage must be in"),
    ],
)
def test_gender_at_a_coverage_target(
    coverage: float, margin: float, named: int, accuracy: float, error: str | None
) -> None:
    if error:
        with pytest.raises(ValueError, match=error):
            at_coverage(_P, _TRUTH, coverage)
        return
    point = at_coverage(_P, _TRUTH, coverage)
    assert (point["margin"], point["named"], point["labelled"]) == (margin, named, 9)
    assert point["accuracy"] == pytest.approx(accuracy)
