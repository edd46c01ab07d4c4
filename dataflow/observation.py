"""`Observation`: the slim, validated form of an entry that flows through the job."""

from __future__ import annotations

from dataclasses import dataclass

from anonflow.contract.entry import Entry


@dataclass(frozen=True, slots=True)
class Observation:
    """What the aggregations need of one entry; built only from entries that passed validation.

    foot_x, foot_y: normalised image position; zones: zone ids of the foot point (may be empty);
    crossings: (line_id, "in" | "out") pairs; gender / age_band: the entry's labels (already smoothed
    over the track by the gateway); appearance_group: the coarse clothing-colour bucket.
    """

    entry_id: str
    store_id: str
    camera_id: str
    track_id: str
    event_time_ms: int
    foot_x: float
    foot_y: float
    zones: tuple[str, ...]
    crossings: tuple[tuple[str, str], ...]
    gender: str
    age_band: str
    appearance_group: int

    @classmethod
    def from_entry(cls, entry: Entry) -> Observation:
        return cls(
            entry_id=entry.entry_id,
            store_id=entry.store_id,
            camera_id=entry.camera_id,
            track_id=entry.track_id,
            event_time_ms=entry.event_time_ms,
            foot_x=entry.foot.x,
            foot_y=entry.foot.y,
            zones=tuple(entry.zones),
            crossings=tuple((c.line_id, c.direction) for c in entry.line_crossings),
            gender=entry.demographics.gender.value,
            age_band=entry.demographics.age_band.value,
            appearance_group=entry.appearance_group,
        )

    @property
    def fragment_key(self) -> tuple[str, str, str]:
        """The track fragment this observation belongs to (before any re-connection)."""
        return (self.store_id, self.camera_id, self.track_id)
