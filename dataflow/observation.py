"""`Observation`: the slim, validated form of an entry that flows through the job."""

from __future__ import annotations

from dataclasses import dataclass

from anonflow.contract.entry import AGE_GROUP_OF_BAND, Entry, ResearchEntry
from anonflow.contract.entry_v1 import EntryV1


@dataclass(frozen=True, slots=True)
class Observation:
    """What the aggregations need of one entry; built only from entries that passed validation.

    foot_x, foot_y: normalised image position; zones: zone ids of the foot point (may be empty);
    crossings: (line_id, "in" | "out") pairs; gender / age_group: the entry's labels (already smoothed
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
    age_group: str
    appearance_group: int

    @classmethod
    def from_entry(cls, entry: Entry | ResearchEntry | EntryV1) -> Observation:
        """Any readable version: a v1 entry's finer age band is mapped to its age group."""
        if isinstance(entry, EntryV1):
            age_group = AGE_GROUP_OF_BAND[entry.demographics.age_band].value
        else:
            age_group = entry.demographics.age_group.value
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
            age_group=age_group,
            appearance_group=entry.appearance_group,
        )

    @property
    def fragment_key(self) -> tuple[str, str, str]:
        """The track fragment this observation belongs to (before any re-connection)."""
        return (self.store_id, self.camera_id, self.track_id)
