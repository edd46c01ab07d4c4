"""Small builders of observations and entries for the dataflow tests (imported as tests.dataflow.builders)."""

from __future__ import annotations

import hashlib
from typing import Any

import apache_beam as beam

from anonflow.contract.tables import Table
from anonflow.dataflow.aggregate.base import CONTRIBUTORS, TableRows
from anonflow.dataflow.observation import Observation

T0 = 1_715_670_000_000  # 2024-05-14T07:00:00Z
# The job checks event times against the processing time; the test days lie in May 2024.
PROCESSING_2024 = "--processing_time=2024-05-15T12:00:00Z"


def entry_id(*parts: object) -> str:
    """A stable 32-hex-digit entry id from any parts."""
    return hashlib.md5(repr(parts).encode()).hexdigest()


def obs(
    camera: str,
    track: str,
    t_s: float,
    x: float = 0.5,
    y: float = 0.5,
    *,
    group: int = 5,
    zone: str = "",
    store: str = "s1",
    gender: str = "female",
    age_group: str = "adult",
    crossing: tuple[str, str] | None = None,
    t0_ms: int = T0,
) -> Observation:
    """An observation of a track at T0 + t_s seconds; the entry id is fixed by store, camera, track, time."""
    t_ms = t0_ms + round(t_s * 1000)
    return Observation(
        entry_id=entry_id(store, camera, track, t_ms),
        store_id=store,
        camera_id=camera,
        track_id=track,
        event_time_ms=t_ms,
        foot_x=x,
        foot_y=y,
        zones=(zone,) if zone else (),
        crossings=(crossing,) if crossing else (),
        gender=gender,
        age_group=age_group,
        appearance_group=group,
    )


def walk(
    camera: str, track: str, start_s: float, end_s: float, x0: float, x1: float, **kw: Any
) -> list[Observation]:
    """Observations every 0.5 s moving from x0 to x1 along y = 0.5."""
    steps = int((end_s - start_s) / 0.5) + 1
    return [
        obs(camera, track, start_s + i * 0.5, x0 + (x1 - x0) * i / max(steps - 1, 1), 0.5, **kw)
        for i in range(steps)
    ]


def entry_json(o: Observation) -> dict[str, Any]:
    """A contract-valid entry (as a dict) that parses back into exactly `o`."""
    return {
        "schema_version": 2,
        "entry_id": o.entry_id,
        "store_id": o.store_id,
        "camera_id": o.camera_id,
        "track_id": o.track_id,
        "event_time_ms": o.event_time_ms,
        "foot": {"x": o.foot_x, "y": o.foot_y},
        "demographics": {"gender": o.gender, "age_group": o.age_group},
        "appearance_group": o.appearance_group,
        "appearance_groups": 64,
        "zones": list(o.zones),
        "line_crossings": [{"line_id": line, "direction": d} for line, d in o.crossings],
        "producer": {"version": "test", "pose_model": "none", "attribute_model": "none"},
    }


def store_day(
    journeys: list[list[list[Observation]]], *, time_zone: str = "UTC", visit_gap_ms: int = 4000
) -> Any:
    """A StoreDay of the given journeys (each a list of tracks, each a list of observations), for the day
    window (in `time_zone`) of the first observation."""
    from anonflow.dataflow.journeys import Journey, StoreDay
    from anonflow.dataflow.tracks import summarise
    from anonflow.dataflow.windows import Granularity, ZoneWindows

    built = [
        Journey.of(f"j{i}", [summarise(track, grid_size=4) for track in tracks], visit_gap_ms)
        for i, tracks in enumerate(journeys)
    ]
    first = min(o.event_time_ms for tracks in journeys for track in tracks for o in track)
    day = ZoneWindows(time_zone, Granularity.DAY)(first)
    store = journeys[0][0][0].store_id
    return StoreDay(store, time_zone, day.start_ms, day.end_ms, 0, "on_time", tuple(built))


def _exact(batch: TableRows) -> TableRows:
    rows = tuple(
        {**{k: v for k, v in r.items() if k != CONTRIBUTORS}, "suppressed": False} for r in batch.rows
    )
    return TableRows(batch.table, batch.store_id, batch.date, batch.pane, rows)


class PublishExact(beam.PTransform):
    """Test double of the job's `ProtectCells` (patched in by the `exact_release` fixture): the true rows,
    so tests of the aggregation and the sinks can check values end to end on small inputs, which the
    real release would hide. The release itself is tested in test_release.py and test_privacy.py."""

    def __init__(self, table: Table, config: object, **_: object) -> None:
        super().__init__()

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        return batches | "Exact" >> beam.Map(_exact)
