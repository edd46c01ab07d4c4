"""Re-connection: track fragments -> anonymous journeys, in two greedy one-to-one stages.

Decision rule (also in dataflow/reconnect/README.md):

Stage 1, within a camera (occlusion). Fragment A may be continued by fragment B when all hold:
  - same store and camera;
  - B starts after A ends, by a gap 0 < g <= `occlusion.max_gap_s`;
  - B's first foot point lies within `max_jump + max_speed * g` (normalised image units) of A's last;
  - same appearance group (the mode over each fragment), unless `require_same_group` is off.
  Cost = g / max_gap + distance / allowed distance (0..2): shorter and closer is better.

Stage 2, across cameras (transit). The chains of stage 1 ("segments") are joined when:
  - a configured link runs from the earlier segment's camera to the later one's (`CameraLink`, both
    directions if bidirectional), and its zones match: the earlier segment ends with its foot point in
    `from_zone`, the later one starts in `to_zone` (when the link names zones);
  - the transit time t = later.start - earlier.end lies in [min_transit_s, max_transit_s], and the
    later segment also ends after the earlier one (overlapping views may have negative transit);
  - same appearance group, unless `require_same_group` is off.
  Cost = (t - min) / (max - min): the earliest plausible arrival is preferred (people leave in order).

In each stage all admissible pairs are sorted by cost and accepted greedily, each fragment end taking at
most one successor and each start at most one predecessor; ties break on time and key, so the result is
deterministic given the input. Every resulting chain is a journey with a fresh random id: the id says
nothing about the store, camera, time or appearance, and is not reproducible from the input.
"""

from __future__ import annotations

import bisect
import math
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from anonflow.dataflow.reconnect.fragments import Fragment, FragmentKey
from anonflow.dataflow.stores import CameraLink, OcclusionRule, StoreConfig


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether two fragments (or segments) may be joined: a cost if so, the first failed condition if not."""

    cost: float | None
    reason: str

    @property
    def joinable(self) -> bool:
        return self.cost is not None


def _no(reason: str) -> Verdict:
    return Verdict(None, reason)


@dataclass(frozen=True, slots=True)
class Join:
    """An accepted join: `later` continues `earlier` (fragment keys; for transits, the segment ends)."""

    earlier: FragmentKey
    later: FragmentKey
    kind: Literal["occlusion", "transit"]
    cost: float


@dataclass(frozen=True, slots=True)
class Reconnection:
    """Result for one store: every input fragment's journey id, and the joins that built the journeys."""

    journey_of: Mapping[FragmentKey, str]
    joins: tuple[Join, ...]

    def journeys(self) -> dict[str, list[FragmentKey]]:
        """journey id -> its fragments, in input order of start time."""
        out: dict[str, list[FragmentKey]] = defaultdict(list)
        for key, journey in self.journey_of.items():
            out[journey].append(key)
        return dict(out)


def occlusion_verdict(a: Fragment, b: Fragment, rule: OcclusionRule, same_group: bool = True) -> Verdict:
    """May fragment b continue fragment a in the same camera after a brief occlusion?"""
    if (a.store_id, a.camera_id) != (b.store_id, b.camera_id):
        return _no("different camera")
    gap_s = (b.start_ms - a.end_ms) / 1000
    if gap_s <= 0:
        return _no("overlap in time")
    if gap_s > rule.max_gap_s:
        return _no("gap too long")
    distance = math.hypot(b.first_x - a.last_x, b.first_y - a.last_y)
    allowed = rule.max_jump + rule.max_speed * gap_s
    if distance > allowed:
        return _no("jump too far")
    if same_group and a.group != b.group:
        return _no("different appearance group")
    return Verdict(gap_s / rule.max_gap_s + (distance / allowed if allowed > 0 else 0.0), "ok")


def transit_verdict(
    earlier: Fragment, later: Fragment, links: Sequence[CameraLink], same_group: bool = True
) -> Verdict:
    """May segment `later` continue segment `earlier` after a walk between cameras? (links: one-way.)"""
    if earlier.store_id != later.store_id:
        return _no("different store")
    candidates = [
        link for link in links if (link.from_camera, link.to_camera) == (earlier.camera_id, later.camera_id)
    ]
    if not candidates:
        return _no("cameras not adjacent")
    zoned = [
        link
        for link in candidates
        if (link.from_zone is None or link.from_zone in earlier.last_zones)
        and (link.to_zone is None or link.to_zone in later.first_zones)
    ]
    if not zoned:
        return _no("zones do not match the link")
    transit_s = (later.start_ms - earlier.end_ms) / 1000
    if later.end_ms <= earlier.end_ms:
        return _no("later segment ends first")
    timed = [link for link in zoned if link.min_transit_s <= transit_s <= link.max_transit_s]
    if not timed:
        fastest = min(link.min_transit_s for link in zoned)
        return _no("transit too fast" if transit_s < fastest else "transit too slow")
    if same_group and earlier.group != later.group:
        return _no("different appearance group")
    cost = min((transit_s - link.min_transit_s) / (link.max_transit_s - link.min_transit_s) for link in timed)
    return Verdict(cost, "ok")


def _chains(
    count: int, pairs: list[tuple[float, int, int]]
) -> tuple[list[list[int]], list[tuple[int, int, float]]]:
    """Greedy one-to-one acceptance of (cost, earlier, later) pairs; returns chains and accepted pairs."""
    successor: dict[int, int] = {}
    predecessor: dict[int, int] = {}
    accepted: list[tuple[int, int, float]] = []
    for cost, i, j in sorted(pairs):
        if i in successor or j in predecessor:
            continue
        successor[i] = j
        predecessor[j] = i
        accepted.append((i, j, cost))
    chains: list[list[int]] = []
    for start in range(count):
        if start in predecessor:
            continue
        chain = [start]
        while chain[-1] in successor:
            chain.append(successor[chain[-1]])
        chains.append(chain)
    return chains, accepted


def _merge(chain: Sequence[Fragment]) -> Fragment:
    """A segment (chain of one camera's fragments) summarised as one fragment."""
    first, last = chain[0], chain[-1]
    weights: dict[int, int] = defaultdict(int)
    for f in chain:
        weights[f.group] += f.observations
    group = max(weights.items(), key=lambda kv: (kv[1], -kv[0]))[0]
    return Fragment(
        store_id=first.store_id,
        camera_id=first.camera_id,
        track_id=first.track_id,
        start_ms=first.start_ms,
        end_ms=max(f.end_ms for f in chain),
        first_x=first.first_x,
        first_y=first.first_y,
        last_x=last.last_x,
        last_y=last.last_y,
        group=group,
        observations=sum(f.observations for f in chain),
        first_zones=first.first_zones,
        last_zones=last.last_zones,
    )


class _StartIndex:
    """Fragments by (camera, group) sorted by start time, for range look-ups of possible successors."""

    def __init__(self, items: Sequence[Fragment], by_group: bool) -> None:
        self._by_group = by_group
        buckets: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(list)
        for index, f in enumerate(items):
            buckets[(f.camera_id, f.group if by_group else 0)].append((f.start_ms, index))
        self._starts: dict[tuple[str, int], list[int]] = {}
        self._indices: dict[tuple[str, int], list[int]] = {}
        for key, rows in buckets.items():
            rows.sort()
            self._starts[key] = [r[0] for r in rows]
            self._indices[key] = [r[1] for r in rows]

    def starting_between(self, camera: str, group: int, lo_ms: float, hi_ms: float) -> list[int]:
        """Indices of fragments of the camera (and group) with lo_ms <= start <= hi_ms."""
        key = (camera, group if self._by_group else 0)
        starts = self._starts.get(key)
        if starts is None:
            return []
        lo = bisect.bisect_left(starts, lo_ms)
        hi = bisect.bisect_right(starts, hi_ms)
        return self._indices[key][lo:hi]


def new_journey_id() -> str:
    """A fresh random 128-bit journey id (hex); it encodes nothing about the journey."""
    return secrets.token_hex(16)


def reconnect(
    fragments: Iterable[Fragment], store: StoreConfig, new_id: Callable[[], str] = new_journey_id
) -> Reconnection:
    """Join one store's fragments into journeys by the rule in this module's docstring."""
    frags = sorted(fragments, key=lambda f: (f.start_ms, f.end_ms, f.camera_id, f.track_id))
    for f in frags:
        if f.store_id != store.store_id:
            raise ValueError(f"fragment of store {f.store_id!r} given to re-connection of {store.store_id!r}")
    same_group = store.require_same_group
    rule = store.occlusion

    # Stage 1: within each camera.
    index = _StartIndex(frags, same_group)
    pairs: list[tuple[float, int, int]] = []
    for i, a in enumerate(frags):
        for j in index.starting_between(a.camera_id, a.group, a.end_ms + 1, a.end_ms + rule.max_gap_s * 1000):
            verdict = occlusion_verdict(a, frags[j], rule, same_group)
            if verdict.cost is not None:
                pairs.append((verdict.cost, i, j))
    chains, accepted = _chains(len(frags), pairs)
    joins = [Join(frags[i].key, frags[j].key, "occlusion", cost) for i, j, cost in accepted]
    segments = [_merge([frags[i] for i in chain]) for chain in chains]

    # Stage 2: across cameras, along configured links.
    links = store.directed_links()
    links_from: dict[str, list[CameraLink]] = defaultdict(list)
    for link in links:
        links_from[link.from_camera].append(link)
    seg_index = _StartIndex(segments, same_group)
    pairs = []
    for i, s in enumerate(segments):
        seen: set[int] = set()
        for link in links_from.get(s.camera_id, []):
            lo = s.end_ms + link.min_transit_s * 1000
            hi = s.end_ms + link.max_transit_s * 1000
            for j in seg_index.starting_between(link.to_camera, s.group, lo, hi):
                if j in seen:
                    continue
                seen.add(j)
                verdict = transit_verdict(s, segments[j], links, same_group)
                if verdict.cost is not None:
                    pairs.append((verdict.cost, i, j))
    journeys, accepted = _chains(len(segments), pairs)
    for i, j, cost in accepted:
        last_of_earlier = frags[chains[i][-1]].key
        first_of_later = frags[chains[j][0]].key
        joins.append(Join(last_of_earlier, first_of_later, "transit", cost))

    journey_of: dict[FragmentKey, str] = {}
    for journey in journeys:
        journey_id = new_id()
        for segment in journey:
            for fragment in chains[segment]:
                journey_of[frags[fragment].key] = journey_id
    return Reconnection(journey_of, tuple(joins))
