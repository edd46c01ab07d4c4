"""The synthetic store's layout and the vocabularies its entries use.

Four cameras, `entrance`, `aisle-a`, `aisle-b` and `checkout`, each with three zones: `<camera>-front`
(foot point y >= 0.65), `<camera>-left` and `<camera>-right` (the back half, split at x = 0.5). The door
is a counting line on the entrance camera. Every value an entry carries (genders, age bands, orientations,
line-crossing directions, body key points, the schema version) comes from the wire contract, so the day
always speaks the contract's current vocabulary.
"""

from __future__ import annotations

from typing import Any, Final

from anonflow.contract.body import BODY_POINTS
from anonflow.contract.entry import AgeBand, Gender, LineCrossing, Orientation
from anonflow.dataflow.stores import CameraLink, OcclusionRule, PeopleRule, StoreConfig

CAMERAS: Final = ("entrance", "aisle-a", "aisle-b", "checkout")
ENTRANCE, AISLE_A, AISLE_B, CHECKOUT = range(4)
OUTSIDE: Final = -1
FRONT, LEFT, RIGHT = range(3)
SIDES: Final = ("front", "left", "right")

# Where a visitor leaves camera c to go to d (and so where they enter d coming from c): (c, d) -> side.
EXIT_SIDE: Final = {
    (ENTRANCE, OUTSIDE): FRONT,
    (ENTRANCE, AISLE_A): LEFT,
    (ENTRANCE, AISLE_B): RIGHT,
    (ENTRANCE, CHECKOUT): FRONT,
    (AISLE_A, ENTRANCE): FRONT,
    (AISLE_A, AISLE_B): RIGHT,
    (AISLE_A, CHECKOUT): LEFT,
    (AISLE_B, ENTRANCE): FRONT,
    (AISLE_B, AISLE_A): LEFT,
    (AISLE_B, CHECKOUT): RIGHT,
    (CHECKOUT, AISLE_A): LEFT,
    (CHECKOUT, AISLE_B): RIGHT,
    (CHECKOUT, ENTRANCE): FRONT,
}
# Transit time ranges (s) an operator configures for the links (the store file, not the walkers).
TRANSIT: Final = {
    frozenset((ENTRANCE, AISLE_A)): (2.0, 20.0),
    frozenset((ENTRANCE, AISLE_B)): (2.0, 20.0),
    frozenset((AISLE_A, AISLE_B)): (3.0, 30.0),
    frozenset((AISLE_A, CHECKOUT)): (3.0, 30.0),
    frozenset((AISLE_B, CHECKOUT)): (3.0, 30.0),
    frozenset((CHECKOUT, ENTRANCE)): (2.0, 25.0),
}
# The occlusion rule an operator configures for the store (the job's default).
OCCLUSION: Final = OcclusionRule(max_gap_s=4.0, max_jump=0.08, max_speed=0.25)

# Vocabularies, by index as the generator's columns hold them.
GENDERS: Final[tuple[Gender, ...]] = tuple(Gender)
AGE_BANDS: Final[tuple[AgeBand, ...]] = tuple(AgeBand)
# The orientations a walk produces (a synthetic body is never ambiguous, so never `unknown`).
ORIENTATIONS: Final[tuple[Orientation, ...]] = (Orientation.FRONT, Orientation.BACK, Orientation.SIDE)
DOOR_LINE: Final = "door"
# Index 0: no crossing; 1: the door inwards; 2: the door outwards.
CROSSINGS: Final[tuple[list[dict[str, Any]], ...]] = (
    [],
    [LineCrossing(line_id=DOOR_LINE, direction="in").model_dump()],
    [LineCrossing(line_id=DOOR_LINE, direction="out").model_dump()],
)
# The generator writes the archived v1 layout (key points, box, attribute probabilities, age band): the
# job still reads it, and it is the heavier parse. Gateways write v2 (anonflow.contract.entry).
ENTRY_SCHEMA_VERSION: Final = 1
PRODUCER: Final = {
    "version": "0.1.0",
    "pose_model": "synthetic-store-day",
    "attribute_model": "synthetic-store-day",
}
# Where each body key point sits in the box: fraction of box width (x) and height (y).
_ANCHORS: Final = {
    "left_shoulder": (0.72, 0.14),
    "right_shoulder": (0.28, 0.14),
    "left_elbow": (0.80, 0.32),
    "right_elbow": (0.20, 0.32),
    "left_wrist": (0.82, 0.48),
    "right_wrist": (0.18, 0.48),
    "left_hip": (0.64, 0.52),
    "right_hip": (0.36, 0.52),
    "left_knee": (0.62, 0.74),
    "right_knee": (0.38, 0.74),
    "left_ankle": (0.60, 0.96),
    "right_ankle": (0.40, 0.96),
}
# In the contract's key-point order; a point added to the contract without an anchor fails at import.
BODY_ANCHORS: Final[tuple[tuple[str, float, float], ...]] = tuple(
    (name, *_ANCHORS[name]) for name in BODY_POINTS
)


def zone_names() -> tuple[str, ...]:
    """Zone ids by index: camera * 3 + side."""
    return tuple(f"{c}-{s}" for c in CAMERAS for s in SIDES)


def store_config(store_id: str, time_zone: str) -> StoreConfig:
    """The store configuration that matches the layout (what an operator would write)."""
    links = []
    for pair, (lo, hi) in TRANSIT.items():
        a, b = sorted(pair)
        links.append(
            CameraLink(
                from_camera=CAMERAS[a],
                to_camera=CAMERAS[b],
                from_zone=f"{CAMERAS[a]}-{SIDES[EXIT_SIDE[(a, b)]]}",
                to_zone=f"{CAMERAS[b]}-{SIDES[EXIT_SIDE[(b, a)]]}",
                min_transit_s=lo,
                max_transit_s=hi,
            )
        )
    return StoreConfig(
        store_id=store_id,
        time_zone=time_zone,
        occlusion=OCCLUSION,
        links=tuple(links),
        people=PeopleRule(doors=(DOOR_LINE,)),
        zones=zone_names(),
        cameras=tuple(CAMERAS),
    )
