"""Door-anchored stitching: the journeys of a store-day -> people.

Re-connection (dataflow/reconnect) joins fragments only when the evidence is strong, so a person whose
walk it cannot follow (a long occlusion, another appearance group under another camera's light, a pause
out of every view) becomes several journeys. Where a store names its door lines, the count of people is
pinned down by a structural fact: everyone comes in through a door and goes out through one. So

- a journey that crosses no door inwards is not a new person: it continues someone already inside
  (an *open start*);
- a journey that crosses no door outwards is not finished: someone continues it later (an *open end*).

Open starts are taken in time order; each is stitched to the cheapest open end that finished before it
started, at most `max_gap_s` earlier and not yet taken. The cost uses only what an entry carries without
identifying anyone: the gap (in units of `time_scale_s`), the appearance group (coarse clothing-colour
bucket shared by many people; a different group costs `group_penalty`) and the place (the same camera
near where the earlier one vanished, or a configured link whose zones match; anything else costs up to
`place_penalty`). A wrong stitch joins two people's fragments but does not change how many people there
are, which is what the headline counts.

An open start with no open end left stays a person of its own, marked *unanchored*: the explicit
uncertainty of the estimate (a fragment of someone already counted, or a person the door line missed).
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from anonflow.dataflow.journeys import Journey
from anonflow.dataflow.people.model import People
from anonflow.dataflow.reconnect.fragments import Fragment
from anonflow.dataflow.stores import CameraLink, StoreConfig

# Image distance (normalised units) beyond which a same-camera stitch costs the full place penalty.
_FAR: float = 0.5


@dataclass(frozen=True, slots=True)
class _Ends:
    """What stitching compares of one journey: its first and last fragment, its groups and doors."""

    start_ms: int
    end_ms: int
    first: Fragment
    last: Fragment
    groups: frozenset[int]
    came_in: bool
    went_out: bool


def _ends(journey: Journey, doors: frozenset[str]) -> _Ends:
    fragments = [t.fragment for t in journey.tracks]
    crossings = [(c.line_id, c.direction) for c in journey.crossings() if c.line_id in doors]
    return _Ends(
        start_ms=journey.start_ms,
        end_ms=journey.end_ms,
        first=fragments[0],
        last=max(fragments, key=lambda f: (f.end_ms, f.track_id)),
        groups=frozenset(f.group for f in fragments),
        came_in=any(d == "in" for _, d in crossings),
        went_out=any(d == "out" for _, d in crossings),
    )


class StitchCost:
    """How implausible it is that one journey continues another, for one store (links looked up once)."""

    def __init__(self, store: StoreConfig) -> None:
        self._rule = store.people
        self._links: dict[tuple[str, str], list[CameraLink]] = defaultdict(list)
        for link in store.directed_links():
            self._links[(link.from_camera, link.to_camera)].append(link)

    def __call__(self, earlier: _Ends, later: _Ends) -> float:
        """0: right away, in the same group, where the earlier one vanished; larger is less plausible."""
        rule = self._rule
        cost = (later.start_ms - earlier.end_ms) / 1000 / rule.time_scale_s
        a, b = earlier.last, later.first
        if a.group != b.group:
            cost += rule.group_penalty / 2 if earlier.groups & later.groups else rule.group_penalty
        return cost + self._place(a, b)

    def _place(self, a: Fragment, b: Fragment) -> float:
        penalty = self._rule.place_penalty
        if a.camera_id == b.camera_id:
            distance = math.hypot(b.first_x - a.last_x, b.first_y - a.last_y)
            return penalty * min(1.0, distance / _FAR)
        links = self._links.get((a.camera_id, b.camera_id))
        if not links:
            return penalty
        for link in links:
            if (link.from_zone is None or link.from_zone in a.last_zones) and (
                link.to_zone is None or link.to_zone in b.first_zones
            ):
                return 0.0
        return penalty / 2


def people_of(journeys: Sequence[Journey], store: StoreConfig) -> People:
    """Group one store-day's journeys (in the store-day's order) into people, by this module's method."""
    doors = frozenset(store.people.doors)
    if not doors:
        return People.one_per_journey(len(journeys))
    ends = [_ends(j, doors) for j in journeys]
    successor = _stitch(ends, store)
    predecessor = {later: earlier for earlier, later in successor.items()}
    chains: list[list[int]] = []
    for head in range(len(ends)):
        if head in predecessor:
            continue
        chain = [head]
        while chain[-1] in successor:
            chain.append(successor[chain[-1]])
        chains.append(chain)
    chains.sort(key=lambda c: (ends[c[0]].start_ms, c[0]))
    return People.from_chains(len(ends), chains, [ends[c[0]].came_in for c in chains])


def _stitch(ends: Sequence[_Ends], store: StoreConfig) -> dict[int, int]:
    """earlier journey index -> later journey index, for every stitch made."""
    max_gap_ms = store.people.max_gap_s * 1000
    cost = StitchCost(store)
    open_ends = sorted((e.end_ms, i) for i, e in enumerate(ends) if not e.went_out)
    end_times = [t for t, _ in open_ends]
    taken: set[int] = set()
    successor: dict[int, int] = {}
    starts = sorted((e.start_ms, i) for i, e in enumerate(ends) if not e.came_in)
    for start_ms, later in starts:
        lo = bisect.bisect_left(end_times, start_ms - max_gap_ms)
        hi = bisect.bisect_left(end_times, start_ms)  # ended strictly before this start
        best: tuple[float, int, int] | None = None
        for end_ms, earlier in open_ends[lo:hi]:
            if earlier in taken:
                continue
            candidate = (cost(ends[earlier], ends[later]), -end_ms, earlier)
            if best is None or candidate < best:
                best = candidate
        if best is not None:
            taken.add(best[2])
            successor[best[2]] = later
    return successor
