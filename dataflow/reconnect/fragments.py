"""`Fragment`: what re-connection needs to know about one camera track, summarised from its observations.

A fragment is everything one camera's tracker emitted under one track id. Re-connection compares only
fragment ends: where and when a track stopped, where and when another started, and the appearance group
most of its observations carried (the group flickers now and then as the clothing-colour hash sits
near a bucket edge, so the mode is used).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from dataflow.observation import Observation

FragmentKey = tuple[str, str, str]
"""(store_id, camera_id, track_id): the track as the gateway named it."""


@dataclass(frozen=True, slots=True)
class Fragment:
    """One camera track, summarised. Times are UTC ms; positions are normalised foot points.

    first_zones / last_zones: the zones of the first / last observation's foot point.
    group: the most frequent appearance group (ties: the smallest group number, for determinism).
    """

    store_id: str
    camera_id: str
    track_id: str
    start_ms: int
    end_ms: int
    first_x: float
    first_y: float
    last_x: float
    last_y: float
    group: int
    observations: int
    first_zones: tuple[str, ...] = ()
    last_zones: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.end_ms < self.start_ms:
            raise ValueError(
                f"fragment {self.track_id} ends ({self.end_ms}) before it starts ({self.start_ms})"
            )
        if self.observations < 1:
            raise ValueError(
                f"fragment {self.track_id} needs at least one observation, got {self.observations}"
            )

    @property
    def key(self) -> FragmentKey:
        return (self.store_id, self.camera_id, self.track_id)


@dataclass(slots=True)
class FragmentAccumulator:
    """Running summary of one track's observations; mergeable, so it works as a Beam CombineFn state."""

    first: Observation | None = None
    last: Observation | None = None
    groups: Counter[int] = field(default_factory=Counter)
    count: int = 0

    def add(self, o: Observation) -> FragmentAccumulator:
        self._keep_ends(o, o)
        self.groups[o.appearance_group] += 1
        self.count += 1
        return self

    def merge(self, other: FragmentAccumulator) -> FragmentAccumulator:
        if other.first is not None and other.last is not None:
            self._keep_ends(other.first, other.last)
        self.groups.update(other.groups)
        self.count += other.count
        return self

    def _keep_ends(self, first: Observation, last: Observation) -> None:
        # Ties on time are broken by entry id so the summary does not depend on arrival order.
        if self.first is None or (first.event_time_ms, first.entry_id) < (
            self.first.event_time_ms,
            self.first.entry_id,
        ):
            self.first = first
        if self.last is None or (last.event_time_ms, last.entry_id) > (
            self.last.event_time_ms,
            self.last.entry_id,
        ):
            self.last = last

    def fragment(self) -> Fragment:
        if self.first is None or self.last is None:
            raise ValueError("cannot summarise a track with no observations")
        best = max(self.groups.items(), key=lambda kv: (kv[1], -kv[0]))[0]
        return Fragment(
            store_id=self.first.store_id,
            camera_id=self.first.camera_id,
            track_id=self.first.track_id,
            start_ms=self.first.event_time_ms,
            end_ms=self.last.event_time_ms,
            first_x=self.first.foot_x,
            first_y=self.first.foot_y,
            last_x=self.last.foot_x,
            last_y=self.last.foot_y,
            group=best,
            observations=self.count,
            first_zones=self.first.zones,
            last_zones=self.last.zones,
        )


def summarise(observations: Iterable[Observation]) -> Fragment:
    """The fragment of one track's observations (all must share store, camera and track id)."""
    acc = FragmentAccumulator()
    key: FragmentKey | None = None
    for o in observations:
        if key is None:
            key = o.fragment_key
        elif o.fragment_key != key:
            raise ValueError(f"observations of {o.fragment_key} mixed into track {key}")
        acc.add(o)
    return acc.fragment()
