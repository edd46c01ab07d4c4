"""Track summaries: everything the tables and re-connection need of one camera track, in one combine.

The job never groups observations. Each observation is folded into the accumulator of its track
(store, camera, track id) right where it is parsed, and only the summaries travel on: a store-day of a
million entries becomes some twenty thousand `Track`s. The accumulator keys observations by entry id,
so a repeated delivery of an entry is counted once; this is the job's dedupe (see `TrackAccumulator`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from anonflow.dataflow.observation import Observation
from anonflow.dataflow.reconnect.fragments import Fragment

Record = tuple[int, float, float, tuple[str, ...], tuple[tuple[str, str], ...], str, str, int]
"""One observation inside the accumulator: (event_time_ms, foot_x, foot_y, zones, crossings, gender,
age_group, appearance_group)."""

MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True)
class Stint:
    """A track's continuous stay in one zone: a run of consecutive observations all inside the zone.

    start_ms / end_ms: the first and last observation of the run (UTC ms, both inclusive; equal for a
    single observation).
    """

    zone_id: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class Crossing:
    """A counting-line crossing reported by one observation, with the zones of its foot point."""

    t_ms: int
    line_id: str
    direction: str
    zones: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Track:
    """One camera track, summarised.

    fragment: what re-connection compares (ends, group, zones at the ends).
    stints: the zone runs in time order; crossings: in time order.
    genders / age_groups: (label, observations) counts, most frequent first.
    heat: foot points per grid cell and UTC minute, as (cell_x, cell_y, minute, observations) tuples
    (cells of a `grid_size` x `grid_size` grid over the image, 0, 0 at the top left; plain tuples keep
    the summaries cheap to ship). Local 5-minute, hour and day windows always start on a whole
    minute, so minute counts roll up into any of them exactly.
    received: observations delivered, repeats included; fragment.observations counts distinct entries.
    """

    fragment: Fragment
    stints: tuple[Stint, ...]
    crossings: tuple[Crossing, ...]
    genders: tuple[tuple[str, int], ...]
    age_groups: tuple[tuple[str, int], ...]
    heat: tuple[tuple[int, int, int, int], ...]
    grid_size: int
    received: int

    @property
    def duplicates(self) -> int:
        return self.received - self.fragment.observations


class TrackAccumulator:
    """The running state of one track: its observations by entry id, and how many were delivered.

    Keyed by entry id, a repeated delivery overwrites itself; `received - len(records)` is the number of
    repeats. Mergeable in any order with the same result, so it is a Beam CombineFn accumulator: within a
    store-day window the dedupe is exact, and the window's lifetime (day end plus allowed lateness) is its
    time-to-live.
    """

    __slots__ = ("key", "received", "records")

    def __init__(self) -> None:
        self.key: tuple[str, str, str] | None = None
        self.records: dict[str, Record] = {}
        self.received = 0

    def add(self, o: Observation) -> TrackAccumulator:
        if self.key is None:
            self.key = (o.store_id, o.camera_id, o.track_id)
        self.records[o.entry_id] = (
            o.event_time_ms,
            o.foot_x,
            o.foot_y,
            o.zones,
            o.crossings,
            o.gender,
            o.age_group,
            o.appearance_group,
        )
        self.received += 1
        return self

    def merge(self, other: TrackAccumulator) -> TrackAccumulator:
        if self.key is None:
            self.key = other.key
        self.records.update(other.records)
        self.received += other.received
        return self

    def __getstate__(self) -> tuple[object, ...]:
        return (self.key, self.records, self.received)

    def __setstate__(self, state: tuple[object, ...]) -> None:
        self.key, self.records, self.received = state  # type: ignore[assignment]

    def summary(self, grid_size: int) -> Track:
        """The track's summary; its heat map uses a grid of grid_size x grid_size cells."""
        if self.key is None or not self.records:
            raise ValueError("cannot summarise a track with no observations")
        store_id, camera_id, track_id = self.key
        # Ties on time are broken by entry id, so the summary does not depend on arrival order.
        ordered = [record for _, record in sorted(self.records.items(), key=lambda kv: (kv[1][0], kv[0]))]
        first, last = ordered[0], ordered[-1]
        groups: Counter[int] = Counter(r[7] for r in ordered)
        group = max(groups.items(), key=lambda kv: (kv[1], -kv[0]))[0]
        fragment = Fragment(
            store_id=store_id,
            camera_id=camera_id,
            track_id=track_id,
            start_ms=first[0],
            end_ms=last[0],
            first_x=first[1],
            first_y=first[2],
            last_x=last[1],
            last_y=last[2],
            group=group,
            observations=len(ordered),
            first_zones=first[3],
            last_zones=last[3],
        )
        return Track(
            fragment=fragment,
            stints=_stints(ordered),
            crossings=tuple(
                Crossing(r[0], line, direction, r[3]) for r in ordered for line, direction in r[4]
            ),
            genders=_ranked(r[5] for r in ordered),
            age_groups=_ranked(r[6] for r in ordered),
            heat=_heat(ordered, grid_size),
            grid_size=grid_size,
            received=self.received,
        )


def _stints(ordered: list[Record]) -> tuple[Stint, ...]:
    stints: list[Stint] = []
    open_since: dict[str, int] = {}
    previous_ms = ordered[0][0]
    for t_ms, _, _, zones, *_ in ordered:
        for zone in [z for z in open_since if z not in zones]:
            stints.append(Stint(zone, open_since.pop(zone), previous_ms))
        for zone in zones:
            open_since.setdefault(zone, t_ms)
        previous_ms = t_ms
    stints.extend(Stint(zone, start, previous_ms) for zone, start in open_since.items())
    return tuple(sorted(stints, key=lambda s: (s.start_ms, s.end_ms, s.zone_id)))


def _ranked(labels: Iterable[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(Counter(labels).items(), key=lambda kv: (-kv[1], kv[0])))


def _heat(ordered: list[Record], grid_size: int) -> tuple[tuple[int, int, int, int], ...]:
    last = grid_size - 1
    cells: Counter[tuple[int, int, int]] = Counter(
        (min(int(r[1] * grid_size), last), min(int(r[2] * grid_size), last), r[0] // MINUTE_MS)
        for r in ordered
    )
    return tuple((x, y, minute, n) for (x, y, minute), n in sorted(cells.items()))


def summarise(observations: Iterable[Observation], grid_size: int = 16) -> Track:
    """The summary of one track's observations (all must share store, camera and track id)."""
    acc = TrackAccumulator()
    for o in observations:
        if acc.key is not None and o.fragment_key != acc.key:
            raise ValueError(f"observations of {o.fragment_key} mixed into track {acc.key}")
        acc.add(o)
    return acc.summary(grid_size)
