"""The whole frame -> entry chain with the real models on real frames."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import jsonschema
import numpy as np
import pytest

from anonflow.contract import FACE_POINTS, committed_entry_schema
from anonflow.edge.chain import FrameResult
from anonflow.edge.config import CameraChainConfig, LineConfig, ZoneConfig

START_MS = 1_795_255_200_000


def run(chain, frames, fps: float) -> list[FrameResult]:  # type: ignore[no-untyped-def]
    return [chain.process(f, START_MS + round(i * 1000 / fps)) for i, f in enumerate(frames)]


@pytest.fixture(scope="module")
def aisle_results(make_chain: Callable[..., object], clip: Callable[..., list]) -> list[FrameResult]:  # type: ignore[type-arg]
    config = CameraChainConfig(entry_interval_s=0.5)
    return run(make_chain(config, keep_crops=True), clip("store-aisle-detection.gif", 40), 16.7)


def test_entries_follow_the_contract_and_carry_nothing_identifying(aisle_results: list[FrameResult]) -> None:
    entries = [e for r in aisle_results for e in r.entries]
    assert len(entries) >= 3
    schema = committed_entry_schema()
    face = re.compile("|".join(FACE_POINTS) + "|nose|eye|ear\\b")
    for entry in entries:
        document = json.loads(entry.model_dump_json(exclude_none=True))
        jsonschema.validate(document, schema)
        assert document["profile"] == "minimal" and "research" not in document
        assert document["foot"] == {k: round(v, 3) for k, v in document["foot"].items()}
        assert not face.search(" ".join(_keys(document)))
        # No image data: no long opaque strings anywhere in the entry.
        strings = [v for v in _leaves(document) if isinstance(v, str)]
        assert max(len(s) for s in strings) <= 64


def test_research_detail_only_when_configured(make_chain, clip) -> None:  # type: ignore[no-untyped-def]
    config = CameraChainConfig(entry_interval_s=0.5, entry_detail="research")
    results = run(make_chain(config), clip("store-aisle-detection.gif", 12), 16.7)
    entries = [e for r in results for e in r.entries]
    assert entries
    schema = committed_entry_schema("entry-research")
    face = re.compile("|".join(FACE_POINTS) + "|nose|eye|ear\\b")
    for entry in entries:
        document = json.loads(entry.model_dump_json(exclude_none=True))
        jsonschema.validate(document, schema)
        assert document["profile"] == "research" and document["research"]["keypoints"]
        assert not face.search(" ".join(_keys(document)))


def _keys(node: object) -> list[str]:
    if isinstance(node, dict):
        return [k for key, value in node.items() for k in (key, *_keys(value))]
    if isinstance(node, list):
        return [k for value in node for k in _keys(value)]
    return []


def _leaves(node: object) -> list[object]:
    if isinstance(node, dict):
        return [leaf for value in node.values() for leaf in _leaves(value)]
    if isinstance(node, list):
        return [leaf for value in node for leaf in _leaves(value)]
    return [node]


def test_three_shoppers_are_tracked(aisle_results: list[FrameResult]) -> None:
    """The aisle clip shows three shoppers; fragmentation may add a track but not multiply them."""
    tracks = {e.track_id for r in aisle_results for e in r.entries}
    assert 2 <= len(tracks) <= 5
    per_frame = [len(r.people) for r in aisle_results]
    assert max(per_frame) >= 2


def test_no_crop_reaches_above_the_shoulder_cap(aisle_results: list[FrameResult]) -> None:
    people = [p for r in aisle_results for p in r.people]
    assert people
    for person in people:
        assert person.box[1] >= person.cap_y
        shoulders_y = person.points[:2, 1].mean()
        assert person.box[1] < shoulders_y  # the cap lies above the shoulder line, not below it


def test_crops_are_released_unless_asked_for(make_chain, clip) -> None:  # type: ignore[no-untyped-def]
    results = run(make_chain(), clip("store-aisle-detection.gif", 5), 16.7)
    assert all(r.crops is None for r in results)


def test_detect_every_k_runs_the_pose_model_on_every_kth_frame(make_chain, clip) -> None:  # type: ignore[no-untyped-def]
    results = run(make_chain(CameraChainConfig(detect_every=3)), clip("store-aisle-detection.gif", 12), 16.7)
    assert [r.pose_ran for r in results] == [i % 3 == 0 for i in range(12)]
    assert {e.track_id for r in results for e in r.entries}


def test_zones_and_lines_reach_the_entries(make_chain, clip) -> None:  # type: ignore[no-untyped-def]
    config = CameraChainConfig(
        zones=[
            ZoneConfig(id="left-half", polygon=[(0, 0), (0.5, 0), (0.5, 1), (0, 1)]),
            ZoneConfig(id="right-half", polygon=[(0.5, 0), (1, 0), (1, 1), (0.5, 1)]),
        ],
        lines=[LineConfig(id="mid", start=(0.5, 0.0), end=(0.5, 1.0))],
        entry_interval_s=0.0,
    )
    results = run(make_chain(config), clip("store-aisle-detection.gif", 20), 16.7)
    entries = [e for r in results for e in r.entries]
    for entry in entries:
        expected = "left-half" if entry.foot.x < 0.5 else "right-half"
        assert entry.zones == [expected]


def test_blank_and_noise_frames_give_no_people(make_chain) -> None:  # type: ignore[no-untyped-def]
    chain = make_chain()
    rng = np.random.default_rng(0)
    frames = [np.zeros((270, 480, 3), np.uint8), rng.integers(0, 255, (270, 480, 3), dtype=np.uint8)]
    results = run(chain, frames, 10)
    assert all(not r.entries for r in results)


def test_a_frame_of_the_wrong_shape_is_refused(make_chain) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=r"frame must be uint8 \[H, W, 3\]"):
        make_chain().process(np.zeros((10, 10), np.uint8), START_MS)
