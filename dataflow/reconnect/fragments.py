"""`Fragment`: what re-connection needs to know about one camera track (built by dataflow.tracks).

A fragment is everything one camera's tracker emitted under one track id. Re-connection compares only
fragment ends: where and when a track stopped, where and when another started, and the appearance group
most of its observations carried (the group flickers now and then as the clothing-colour hash sits
near a bucket edge, so the mode is used).
"""

from __future__ import annotations

from dataclasses import dataclass

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
