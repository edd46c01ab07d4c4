"""People from journeys: door-anchored stitching on hand-built days, and on a generated store-day."""

from __future__ import annotations

from collections import defaultdict
from types import ModuleType
from typing import Any

import pytest

from anonflow.contract.entries import read_entry_json
from anonflow.dataflow.journeys import journeys_of
from anonflow.dataflow.observation import Observation
from anonflow.dataflow.people.model import People
from anonflow.dataflow.people.stitch import people_of
from anonflow.dataflow.reconnect.link import reconnect
from anonflow.dataflow.stores import CameraLink, PeopleRule, StoreConfig
from anonflow.dataflow.tracks import summarise
from tests.dataflow.builders import obs, store_day, walk

DOOR_IN = ("door", "in")
DOOR_OUT = ("door", "out")


def store(doors: tuple[str, ...] = ("door",), **rule: Any) -> StoreConfig:
    return StoreConfig(
        store_id="s1",
        time_zone="UTC",
        links=(CameraLink(from_camera="a", to_camera="b", min_transit_s=2, max_transit_s=20),),
        people=PeopleRule(doors=doors, **rule),
    )


def track(
    camera: str, name: str, start_s: float, end_s: float, *, x0: float = 0.3, x1: float = 0.6, **kw: Any
):
    """A walk with an optional door crossing on its first (`enter`) or last (`leave`) observation."""
    enter, leave = kw.pop("enter", None), kw.pop("leave", None)
    points = walk(camera, name, start_s, end_s, x0, x1, **kw)
    if enter:
        first = points[0]
        points[0] = obs(camera, name, start_s, first.foot_x, first.foot_y, crossing=enter, **kw)
    if leave:
        last = points[-1]
        points[-1] = obs(camera, name, end_s, last.foot_x, last.foot_y, crossing=leave, **kw)
    return points


def groups(people: People) -> list[list[int]]:
    """Journey indices per person, in person order."""
    out: dict[int, list[int]] = defaultdict(list)
    for journey, person in enumerate(people.person_of):
        out[person].append(journey)
    return [out[p] for p in range(people.count)]


# (case, journeys as [[track, ...], ...] in start order, store, expected people, expected unanchored)
CASES = [
    (
        "one person, split by a long occlusion",
        [
            [track("a", "t1", 0, 60, enter=DOOR_IN)],
            [track("a", "t2", 75, 120, x0=0.61, leave=DOOR_OUT)],
        ],
        store(),
        [[0, 1]],
        0,
    ),
    (
        "two people, each in and out through the door",
        [
            [track("a", "t1", 0, 60, enter=DOOR_IN, leave=DOOR_OUT)],
            [track("a", "t2", 75, 120, enter=DOOR_IN, leave=DOOR_OUT)],
        ],
        store(),
        [[0], [1]],
        0,
    ),
    (
        "a fragment with no unfinished journey before it is a person, unanchored",
        [
            [track("a", "t1", 0, 60, enter=DOOR_IN, leave=DOOR_OUT)],
            [track("b", "t2", 100, 160)],
        ],
        store(),
        [[0], [1]],
        1,
    ),
    (
        "a gap longer than max_gap_s is not stitched",
        [
            [track("a", "t1", 0, 60, enter=DOOR_IN)],
            [track("b", "t2", 200, 260, leave=DOOR_OUT)],
        ],
        store(max_gap_s=100),
        [[0], [1]],
        1,
    ),
    (
        "three pieces of one person across two cameras, other groups under other light",
        [
            [track("a", "t1", 0, 30, enter=DOOR_IN, group=4)],
            [track("b", "t2", 200, 260, group=9)],
            [track("a", "t3", 400, 430, leave=DOOR_OUT, group=4)],
        ],
        store(),
        [[0, 1, 2]],
        0,
    ),
    (
        "a crossing of a line that is not a door does not anchor",
        [[track("a", "t1", 0, 60, enter=("shelf", "in"), leave=DOOR_OUT)]],
        store(),
        [[0]],
        1,
    ),
    (
        "no door lines: one person per journey, nothing stitched",
        [
            [track("a", "t1", 0, 60, enter=DOOR_IN)],
            [track("a", "t2", 75, 120, x0=0.61, leave=DOOR_OUT)],
        ],
        store(doors=()),
        [[0], [1]],
        0,
    ),
]


@pytest.mark.parametrize(
    ("journeys", "config", "expected", "unanchored"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_people_of(
    journeys: list[Any], config: StoreConfig, expected: list[list[int]], unanchored: int
) -> None:
    day = store_day(journeys)
    people = people_of(day.journeys, config)
    assert groups(people) == expected
    assert people.unanchored == unanchored


def test_the_cheapest_open_end_wins() -> None:
    """Two people vanish at once; the fragment that reappears in group 7 continues the one in group 7."""
    day = store_day(
        [
            [track("a", "t1", 0, 60, enter=DOOR_IN, group=5)],
            [track("a", "t2", 0, 60, enter=DOOR_IN, group=7)],
            [track("a", "t3", 70, 120, x0=0.61, leave=DOOR_OUT, group=7)],
        ]
    )
    people = people_of(day.journeys, store())
    assert people.person_of[1] == people.person_of[2] != people.person_of[0]


def test_people_record_refuses_gaps_in_person_indices() -> None:
    with pytest.raises(ValueError, match="every person index"):
        People((0, 2), (True, True), "doors")


def test_people_on_a_generated_store_day(storeday: ModuleType) -> None:
    """The estimate lands near the true number of people where counting journeys is far off.

    Positive control: the same day counted the naive way (one person per journey) misses by more than
    30 %, so the 5 % bound below can tell the estimate from journeys.
    """
    day = storeday.generate(storeday.StoreDayConfig(visitors=150, staff=2, seed=11, duplicates=0.0))
    by_track: dict[tuple[str, str, str], list[Observation]] = defaultdict(list)
    for line in day.render(0, day.rows).splitlines():
        o = Observation.from_entry(read_entry_json(line))  # the generator writes archived v1 entries
        by_track[o.fragment_key].append(o)
    tracks = [summarise(v) for v in by_track.values()]
    config = day.store()
    linked = reconnect([t.fragment for t in tracks], config)
    journeys = journeys_of(tracks, linked.journey_of, int(config.occlusion.max_gap_s * 1000))
    people = people_of(journeys, config)
    naive = people_of(journeys, config.model_copy(update={"people": PeopleRule()}))
    persons = len(day.person_party)
    assert abs(people.count - persons) <= 0.05 * persons, (people.count, persons)
    assert naive.count > 1.3 * persons, (naive.count, persons)
