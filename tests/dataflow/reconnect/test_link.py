"""Re-connection decision rule: tables of fragments and the journeys they must (and must not) form."""

from __future__ import annotations

import re
from typing import Any

import pytest

from anonflow.dataflow.reconnect.fragments import Fragment
from anonflow.dataflow.reconnect.link import occlusion_verdict, reconnect, transit_verdict
from anonflow.dataflow.stores import CameraLink, OcclusionRule, StoreConfig

T0 = 1_715_670_000_000  # 2024-05-14, ms


def frag(
    camera: str,
    track: str,
    start_s: float,
    end_s: float,
    first: tuple[float, float] = (0.5, 0.5),
    last: tuple[float, float] = (0.5, 0.5),
    group: int = 7,
    first_zone: str | None = None,
    last_zone: str | None = None,
    store: str = "s1",
) -> Fragment:
    return Fragment(
        store_id=store,
        camera_id=camera,
        track_id=track,
        start_ms=T0 + int(start_s * 1000),
        end_ms=T0 + int(end_s * 1000),
        first_x=first[0],
        first_y=first[1],
        last_x=last[0],
        last_y=last[1],
        group=group,
        observations=10,
        first_zones=(first_zone,) if first_zone else (),
        last_zones=(last_zone,) if last_zone else (),
    )


STORE = StoreConfig(
    store_id="s1",
    time_zone="Europe/Berlin",
    occlusion=OcclusionRule(max_gap_s=4.0, max_jump=0.08, max_speed=0.25),
    links=(
        CameraLink(
            from_camera="a",
            to_camera="b",
            from_zone="a-exit",
            to_zone="b-entry",
            min_transit_s=2,
            max_transit_s=20,
        ),
    ),
)

A_END: dict[str, Any] = {"last": (0.9, 0.4), "last_zone": "a-exit"}
B_START: dict[str, Any] = {"first": (0.1, 0.9), "first_zone": "b-entry"}

# (case, fragments, expected journeys as sets of track ids)
CASES = [
    (
        "occlusion joined",
        [frag("a", "t1", 0, 10), frag("a", "t2", 12, 20, first=(0.52, 0.5))],
        [{"t1", "t2"}],
    ),
    ("gap too long", [frag("a", "t1", 0, 10), frag("a", "t2", 15, 20)], [{"t1"}, {"t2"}]),
    ("jump too far", [frag("a", "t1", 0, 10), frag("a", "t2", 11, 20, first=(0.5, 0.95))], [{"t1"}, {"t2"}]),
    ("different group", [frag("a", "t1", 0, 10), frag("a", "t2", 11, 20, group=8)], [{"t1"}, {"t2"}]),
    ("overlap in time", [frag("a", "t1", 0, 10), frag("a", "t2", 9, 20)], [{"t1"}, {"t2"}]),
    (
        "same camera, other store",
        [frag("a", "t1", 0, 10), frag("a", "t2", 11, 20, store="s2")],
        "of store 's2'",
    ),
    ("transit joined", [frag("a", "t1", 0, 10, **A_END), frag("b", "t3", 15, 30, **B_START)], [{"t1", "t3"}]),
    (
        "transit too fast",
        [frag("a", "t1", 0, 10, **A_END), frag("b", "t3", 11, 30, **B_START)],
        [{"t1"}, {"t3"}],
    ),
    (
        "transit too slow",
        [frag("a", "t1", 0, 10, **A_END), frag("b", "t3", 40, 60, **B_START)],
        [{"t1"}, {"t3"}],
    ),
    (
        "cameras not adjacent",
        [frag("a", "t1", 0, 10, **A_END), frag("c", "t3", 15, 30, **B_START)],
        [{"t1"}, {"t3"}],
    ),
    (
        "zone off the link",
        [frag("a", "t1", 0, 10, last=(0.9, 0.4), last_zone="a-shelf"), frag("b", "t3", 15, 30, **B_START)],
        [{"t1"}, {"t3"}],
    ),
    (
        "transit across groups",
        [frag("a", "t1", 0, 10, **A_END), frag("b", "t3", 15, 30, group=9, **B_START)],
        [{"t1"}, {"t3"}],
    ),
    (
        "reverse walk of a bidirectional link",
        [
            frag("b", "t3", 0, 10, last=(0.1, 0.9), last_zone="b-entry"),
            frag("a", "t1", 14, 30, first=(0.9, 0.4), first_zone="a-exit"),
        ],
        [{"t1", "t3"}],
    ),
    (
        "two candidates: the closer continues, the other stays alone",
        [
            frag("a", "t1", 0, 10),
            frag("a", "t2", 11, 20, first=(0.51, 0.5)),
            frag("a", "t3", 11.5, 20, (0.6, 0.5)),
        ],
        [{"t1", "t2"}, {"t3"}],
    ),
    (
        "occlusion then transit: one journey",
        [
            frag("a", "t1", 0, 10),
            frag("a", "t2", 12, 20, first=(0.52, 0.5), **A_END),
            frag("b", "t3", 25, 40, **B_START),
            frag("b", "t4", 42, 50, first=(0.5, 0.5)),
        ],
        [{"t1", "t2", "t3", "t4"}],
    ),
    (
        "two people through one link keep their groups",
        [
            frag("a", "p1", 0, 10, group=1, **A_END),
            frag("a", "p2", 0, 11, group=2, **A_END),
            frag("b", "q2", 14, 30, group=2, **B_START),
            frag("b", "q1", 15, 30, group=1, **B_START),
        ],
        [{"p1", "q1"}, {"p2", "q2"}],
    ),
]


@pytest.mark.parametrize(("fragments", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_journeys(fragments: list[Fragment], expected: list[set[str]] | str) -> None:
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=expected):
            reconnect(fragments, STORE)
        return
    result = reconnect(fragments, STORE)
    got = sorted((sorted(k[2] for k in keys) for keys in result.journeys().values()), key=lambda s: s[0])
    assert got == sorted((sorted(s) for s in expected), key=lambda s: s[0])


@pytest.mark.parametrize(
    ("a", "b", "reason"),
    [
        (frag("a", "t1", 0, 10), frag("a", "t2", 12, 20), "ok"),
        (frag("a", "t1", 0, 10), frag("a", "t2", 14.5, 20), "gap too long"),
        (frag("a", "t1", 0, 10), frag("a", "t2", 10, 20), "overlap in time"),
        (frag("a", "t1", 0, 10), frag("a", "t2", 10.5, 20, first=(0.8, 0.5)), "jump too far"),
        (frag("a", "t1", 0, 10), frag("a", "t2", 11, 20, group=3), "different appearance group"),
        (frag("a", "t1", 0, 10), frag("b", "t2", 11, 20), "different camera"),
    ],
)
def test_occlusion_verdict(a: Fragment, b: Fragment, reason: str) -> None:
    assert occlusion_verdict(a, b, STORE.occlusion).reason == reason


@pytest.mark.parametrize(
    ("a", "b", "reason"),
    [
        (frag("a", "t1", 0, 10, **A_END), frag("b", "t2", 15, 20, **B_START), "ok"),
        (frag("a", "t1", 0, 10, **A_END), frag("b", "t2", 11, 20, **B_START), "transit too fast"),
        (frag("a", "t1", 0, 10, **A_END), frag("b", "t2", 31, 40, **B_START), "transit too slow"),
        (frag("a", "t1", 0, 10, **A_END), frag("c", "t2", 15, 20, **B_START), "cameras not adjacent"),
        (
            frag("a", "t1", 0, 10, **A_END),
            frag("b", "t2", 15, 20, first_zone="b-back"),
            "zones do not match the link",
        ),
        (
            frag("a", "t1", 0, 10, **A_END),
            frag("b", "t2", 15, 20, group=1, **B_START),
            "different appearance group",
        ),
    ],
)
def test_transit_verdict(a: Fragment, b: Fragment, reason: str) -> None:
    assert transit_verdict(a, b, STORE.directed_links()).reason == reason


def test_group_agreement_can_be_switched_off() -> None:
    store = STORE.model_copy(update={"require_same_group": False})
    result = reconnect([frag("a", "t1", 0, 10), frag("a", "t2", 11, 20, group=8)], store)
    assert len(result.journeys()) == 1


def test_journey_ids_are_random_and_input_order_does_not_matter() -> None:
    fragments = [
        frag("a", "t1", 0, 10),
        frag("a", "t2", 12, 20, first=(0.52, 0.5), **A_END),
        frag("b", "t3", 25, 30),
    ]
    first = reconnect(fragments, STORE)
    second = reconnect(list(reversed(fragments)), STORE)
    assert set(first.journey_of.values()).isdisjoint(second.journey_of.values())
    assert all(re.fullmatch(r"[0-9a-f]{32}", j) for j in first.journey_of.values())
    partition = sorted(sorted(k[2] for k in keys) for keys in first.journeys().values())
    assert partition == sorted(sorted(k[2] for k in keys) for keys in second.journeys().values())
    assert [j.kind for j in first.joins] == ["occlusion"]  # t3 starts outside b-entry: no transit


def test_fragment_rejects_inverted_times() -> None:
    with pytest.raises(ValueError, match=r"ends .* before it starts"):
        frag("a", "t1", 10, 0)
