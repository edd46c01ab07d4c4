"""Head zones in every pose and view, on synthetic geometry: no crop keeps a head pixel.

Each scenario is a person (body points) with a head painted in a colour nothing else has, at the place a
head really is in that pose, in a frame of neutral texture. The chain's crop code renders every crop;
no crop may hold a head pixel, and every head must lie inside the union of head zones. Each scenario
runs with the head evidence each pose family gives (none, the neck as OpenPose, face points as YOLO).

Positive control: the same crops rendered the old way (shoulder cap only, no head zones blanked) keep
head pixels in every scenario whose head is not above the cap, so the check can fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pytest

from anonflow.contract.body import POINT_INDEX
from anonflow.edge.config import CropConfig
from anonflow.edge.crop import fit_crops, native_crop
from anonflow.edge.heads import head_zones
from anonflow.edge.pose.types import HEAD_POINTS, Poses
from tests.edge.skeletons import FRONT, Person

FRAME = (480, 640, 3)
HEAD = np.array([0, 0, 255], np.uint8)  # pure red: the textured background never has it
THRESHOLD = 0.2
CONFIG = CropConfig(mask_others=False)


@dataclass(frozen=True)
class Body:
    points: Person
    head: tuple[float, float]  # head centre, frame pixels
    radius: float  # head radius


@dataclass(frozen=True)
class Scenario:
    name: str
    people: tuple[Body, ...]
    # Does the shoulder cap alone (the old crop) already keep this head out of every crop?
    cap_suffices: bool
    only_zone: tuple[int, ...] = field(default=())  # people whose crop is not expected (no shoulders)


def shifted(person: Person, dx: float, dy: float) -> Person:
    return {k: (x + dx, y + dy) for k, (x, y) in person.items()}


UPRIGHT = shifted(FRONT, 200, 60)  # shoulders y=160, hips y=260, torso 100 px
SIDE = {k: (300 + (4 if k.startswith("left") else -4), y) for k, (_, y) in UPRIGHT.items()}
# Bending to a low shelf, seen side-on: the torso leans forward almost flat, the head beyond the shoulders.
BENDING = {
    "left_hip": (300, 260),
    "right_hip": (296, 262),
    "left_shoulder": (392, 282),
    "right_shoulder": (388, 286),
    "left_elbow": (410, 330),
    "left_wrist": (420, 370),
    "left_knee": (305, 340),
    "right_knee": (300, 342),
    "left_ankle": (300, 420),
    "right_ankle": (296, 420),
}
SITTING = {
    "left_shoulder": (330, 230),
    "right_shoulder": (270, 230),
    "left_hip": (320, 320),
    "right_hip": (280, 320),
    "left_knee": (335, 325),
    "right_knee": (285, 328),
    "left_ankle": (335, 410),
    "right_ankle": (285, 410),
}
# Lying on the floor, head to the left, one arm stretched out past the head.
LYING = {
    "left_elbow": (150, 345),
    "left_wrist": (105, 345),
    "left_shoulder": (200, 330),
    "right_shoulder": (200, 280),
    "left_hip": (300, 325),
    "right_hip": (300, 285),
    "left_knee": (380, 322),
    "right_knee": (380, 288),
    "left_ankle": (450, 320),
    "right_ankle": (450, 290),
}
# Seen from straight above: shoulders wide, hips just behind them, the head between the shoulders.
OVERHEAD = {
    "left_shoulder": (335, 240),
    "right_shoulder": (265, 240),
    "left_hip": (320, 262),
    "right_hip": (280, 262),
    "left_elbow": (350, 262),
    "right_elbow": (250, 262),
}
# At the left edge: the right shoulder is out of frame, the head partly so.
EDGE = {"left_shoulder": (30, 160), "left_hip": (25, 260), "left_knee": (25, 330), "left_ankle": (25, 400)}
# A child in front of a taller adult: hips and legs seen, shoulders hidden by the adult's arm.
CHILD = {"left_hip": (318, 330), "right_hip": (292, 330), "left_knee": (316, 375), "right_knee": (294, 375)}

SCENARIOS = [
    Scenario("upright front", (Body(UPRIGHT, (300, 120), 24),), cap_suffices=True),
    Scenario("upright back", (Body(shifted(FRONT, 200, 60), (300, 120), 24),), cap_suffices=True),
    Scenario("upright side", (Body(SIDE, (300, 120), 22),), cap_suffices=True),
    Scenario("head bowed below the shoulders", (Body(UPRIGHT, (300, 172), 24),), cap_suffices=False),
    Scenario("looking down", (Body(UPRIGHT, (300, 158), 24),), cap_suffices=False),
    Scenario("bending to a shelf", (Body(BENDING, (440, 300), 24),), cap_suffices=False),
    Scenario("sitting", (Body(SITTING, (300, 190), 24),), cap_suffices=True),
    Scenario("lying", (Body(LYING, (150, 305), 24),), cap_suffices=False),
    Scenario("overhead camera", (Body(OVERHEAD, (300, 243), 22),), cap_suffices=False),
    Scenario("partly out of frame", (Body(EDGE, (12, 120), 24),), cap_suffices=True),
    Scenario(
        "bystander without shoulders inside another crop",
        (Body(UPRIGHT, (300, 120), 24), Body(CHILD, (305, 285), 16)),
        cap_suffices=False,
        only_zone=(1,),
    ),
]
EVIDENCE = ("none", "neck", "face")


def poses_with(people: tuple[Body, ...], evidence: str) -> Poses:
    n = len(people)
    points = np.zeros((n, 12, 2), np.float32)
    scores = np.zeros((n, 12), np.float32)
    head_points = np.zeros((n, len(HEAD_POINTS), 2), np.float32)
    head_scores = np.zeros((n, len(HEAD_POINTS)), np.float32)
    for row, body in enumerate(people):
        for name, xy in body.points.items():
            points[row, POINT_INDEX[name]] = xy
            scores[row, POINT_INDEX[name]] = 0.9
        hx, hy = body.head
        shoulders = [body.points[s] for s in ("left_shoulder", "right_shoulder") if s in body.points]
        if evidence == "neck" and shoulders:
            head_points[row, HEAD_POINTS.index("neck")] = np.mean(shoulders, axis=0)
            head_scores[row, HEAD_POINTS.index("neck")] = 0.9
        if evidence == "face":
            r = body.radius
            face = {
                "nose": (hx, hy + 0.2 * r),
                "left_eye": (hx + 0.35 * r, hy),
                "right_eye": (hx - 0.35 * r, hy),
            }
            face |= {"left_ear": (hx + 0.9 * r, hy), "right_ear": (hx - 0.9 * r, hy)}
            for name, xy in face.items():
                head_points[row, HEAD_POINTS.index(name)] = xy
                head_scores[row, HEAD_POINTS.index(name)] = 0.8
    return Poses(points, scores, head_points, head_scores)


def painted(people: tuple[Body, ...]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    """A textured grey frame with each head painted red, and the mask of head pixels."""
    rng = np.random.default_rng(0)
    frame = rng.integers(60, 200, FRAME, dtype=np.uint8)
    frame[..., 2] = np.minimum(frame[..., 2], 200)  # keep pure red unique to heads
    yy, xx = np.mgrid[: FRAME[0], : FRAME[1]]
    heads = np.zeros(FRAME[:2], bool)
    for body in people:
        heads |= (xx - body.head[0]) ** 2 + (yy - body.head[1]) ** 2 <= body.radius**2
    frame[heads] = HEAD
    return frame, heads


def red_pixels(image: npt.NDArray[np.uint8]) -> int:
    return int(np.all(image == HEAD, axis=-1).sum())


def crops(scenario: Scenario, evidence: str, *, blank_heads: bool) -> tuple[int, int, npt.NDArray[np.int32]]:
    """(crops rendered, head pixels found in them, head zones) for one scenario."""
    poses = poses_with(scenario.people, evidence)
    frame, _ = painted(scenario.people)
    geometry = fit_crops(poses, frame.shape, CONFIG, THRESHOLD)
    zones = head_zones(poses, THRESHOLD, frame.shape)
    heads = zones if blank_heads else np.zeros_like(zones)
    found, rendered = 0, 0
    for person in np.flatnonzero(geometry.valid):
        patch = native_crop(
            frame, geometry, poses, CONFIG, int(person), point_threshold=THRESHOLD, heads=heads
        )
        found += red_pixels(patch)
        rendered += 1
    return rendered, found, zones


@pytest.mark.parametrize("evidence", EVIDENCE)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_no_crop_keeps_a_head_pixel(scenario: Scenario, evidence: str) -> None:
    rendered, found, zones = crops(scenario, evidence, blank_heads=True)
    expected_crops = len(scenario.people) - len(scenario.only_zone)
    assert rendered == expected_crops, f"{scenario.name}: {rendered} crops"
    assert found == 0, f"{scenario.name} ({evidence} evidence): {found} head pixels in crops"
    # And every head lies inside its own person's zone, in frame or not.
    _, heads = painted(scenario.people)
    covered = np.zeros(FRAME[:2], bool)
    for x0, y0, x1, y1 in np.clip(zones, 0, [FRAME[1], FRAME[0]] * 2):
        covered[y0:y1, x0:x1] = True
    assert not (heads & ~covered).any(), (
        f"{scenario.name}: {(heads & ~covered).sum()} head pixels outside zones"
    )


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if not s.cap_suffices], ids=lambda s: s.name)
def test_the_check_catches_the_shoulder_cap_alone(scenario: Scenario) -> None:
    """Positive control: without head zones (the shoulder cap only) these heads reach the crops."""
    _, found, _ = crops(scenario, "none", blank_heads=False)
    assert found > 0, f"{scenario.name}: the cap alone already kept the head out; the scenario proves nothing"


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s.cap_suffices], ids=lambda s: s.name)
def test_upright_heads_are_already_above_the_cap(scenario: Scenario) -> None:
    """The scenarios the cap handled before stay handled without zones (the table is honest about it)."""
    _, found, _ = crops(scenario, "none", blank_heads=False)
    assert found == 0


def test_zones_are_bounded_by_the_body_not_the_frame() -> None:
    """A zone is head-sized: at most a couple of torso lengths across, so crops keep most of the body."""
    poses = poses_with((Body(UPRIGHT, (300, 120), 24),), "none")
    (x0, y0, x1, y1) = head_zones(poses, THRESHOLD, FRAME)[0]
    assert x1 - x0 <= 120 and y1 - y0 <= 200
    geometry = fit_crops(poses, FRAME, CONFIG, THRESHOLD)
    _, by0, _, by1 = geometry.boxes[0]
    assert y1 < by0 + 0.5 * (by1 - by0)  # the zone blanks the top of the crop, never most of it
