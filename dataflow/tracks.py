"""Track summaries: everything the tables and re-connection need of one camera track, in one combine.

The job never groups observations. Each observation is folded into the accumulator of its track
(store, camera, track id) right where it is parsed, and only the summaries travel on: a store-day of a
million entries becomes some twenty thousand `Track`s. The accumulator keys observations by entry id,
so a repeated delivery of an entry is counted once; this is the job's dedupe (see `TrackAccumulator`).
Each summary also carries its entry ids, packed, so that the store-day step can drop an entry id
repeated under another track (dataflow/shared.py) without a shuffle keyed by entry.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

from anonflow.dataflow.observation import Observation
from anonflow.dataflow.reconnect.fragments import Fragment


class Sighting(NamedTuple):
    """What a track summary needs of one observation, kept in the accumulator under its entry id.

    event_time_ms: UTC ms; foot_x, foot_y: normalised foot point; zones, crossings, gender, age_group,
    appearance_group: as in `Observation`. A NamedTuple rather than a dataclass: a million are made
    per store-day and they cross the combiner's shuffle, where a tuple is the cheapest record.
    """

    event_time_ms: int
    foot_x: float
    foot_y: float
    zones: tuple[str, ...]
    crossings: tuple[tuple[str, str], ...]
    gender: str
    age_group: str
    appearance_group: int


# Sighting from a tuple of its fields without the Python-level __new__ (the accumulator's hot path).
_sighting = partial(tuple.__new__, Sighting)


MINUTE_MS = 60_000
ENTRY_ID_BYTES = 16


def packed_id(entry_id: str) -> bytes:
    """An entry id as 16 bytes: the contract's 32 hex digits as they are, anything else by BLAKE2b-128
    (ids made by hand in tests; 128 bits keep even chosen ids from colliding)."""
    if len(entry_id) == 2 * ENTRY_ID_BYTES:
        try:
            return bytes.fromhex(entry_id)
        except ValueError:
            pass
    return hashlib.blake2b(entry_id.encode(), digest_size=ENTRY_ID_BYTES).digest()


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
    heat: foot points per cell of a `grid_size` x `grid_size` grid over the image and UTC minute, as
    (cell_x, cell_y, minute, observations) in that order (0, 0 is the top left; plain tuples, as a
    NamedTuple would cost a Python-level constructor call per cell each time a Track is unpickled).
    Local 5-minute, hour and day windows always start on a whole minute, so minute counts roll up
    into any of them exactly.
    received: observations delivered, repeats included; fragment.observations counts distinct entries.
    entry_ids: the distinct entry ids, `packed_id` each, sorted and concatenated; read by
    the store-day step's cross-track check (dataflow/shared.py), which empties it so that the ids do not
    travel on with the journeys.
    """

    fragment: Fragment
    stints: tuple[Stint, ...]
    crossings: tuple[Crossing, ...]
    genders: tuple[tuple[str, int], ...]
    age_groups: tuple[tuple[str, int], ...]
    heat: tuple[tuple[int, int, int, int], ...]
    grid_size: int
    received: int
    entry_ids: bytes = b""

    @property
    def duplicates(self) -> int:
        return self.received - self.fragment.observations


class TrackAccumulator:
    """The running state of one track: its observations by entry id, and how many were delivered.

    Keyed by entry id: of repeated deliveries the smallest `Sighting` is kept (a plain repeat is equal
    anyway; an edited one must not win by arriving last), and `received - len(records)` is the number
    of repeats. Mergeable in any order with the same result, so it is a Beam CombineFn accumulator:
    within a store-day window the dedupe is exact, and the window's lifetime (day end plus allowed
    lateness) is its time-to-live.
    """

    __slots__ = ("key", "received", "records")

    def __init__(self) -> None:
        self.key: tuple[str, str, str] | None = None
        self.records: dict[str, Sighting] = {}
        self.received = 0

    def add(self, o: Observation) -> TrackAccumulator:
        if self.key is None:
            self.key = (o.store_id, o.camera_id, o.track_id)
        sighting = _sighting(
            (
                o.event_time_ms,
                o.foot_x,
                o.foot_y,
                o.zones,
                o.crossings,
                o.gender,
                o.age_group,
                o.appearance_group,
            )
        )
        held = self.records.get(o.entry_id)
        if held is None or sighting < held:
            self.records[o.entry_id] = sighting
        self.received += 1
        return self

    def merge(self, other: TrackAccumulator) -> TrackAccumulator:
        if self.key is None:
            self.key = other.key
        # Repeats across bundles are rare: settle those few by rank, take the rest at C speed.
        kept = {
            entry_id: min(self.records[entry_id], other.records[entry_id])
            for entry_id in self.records.keys() & other.records.keys()
        }
        self.records.update(other.records)
        self.records.update(kept)
        self.received += other.received
        return self

    # Beam encodes accumulators with its FastPrimitivesCoder, which pickles this class. Pickle would
    # rebuild each Sighting through its Python-level __new__ (five times the cost of a tuple); the state
    # carries plain field tuples instead and rebuilds Sightings at C speed.
    def __getstate__(self) -> tuple[object, ...]:
        return (self.key, tuple(self.records), tuple(map(tuple, self.records.values())), self.received)

    def __setstate__(self, state: tuple[object, ...]) -> None:
        key, ids, fields, received = state
        self.key = key  # type: ignore[assignment]
        self.records = dict(zip(ids, map(_sighting, fields), strict=True))  # type: ignore[call-overload]
        self.received = received  # type: ignore[assignment]

    def summary(self, grid_size: int) -> Track:
        """The track's summary; its heat map uses a grid of grid_size x grid_size cells."""
        if self.key is None or not self.records:
            raise ValueError("cannot summarise a track with no observations")
        store_id, camera_id, track_id = self.key
        # Ties on time are broken by entry id, so the summary does not depend on arrival order.
        ordered = [
            sighting
            for _, sighting in sorted(self.records.items(), key=lambda kv: (kv[1].event_time_ms, kv[0]))
        ]
        first, last = ordered[0], ordered[-1]
        groups: Counter[int] = Counter(s.appearance_group for s in ordered)
        group = max(groups.items(), key=lambda kv: (kv[1], -kv[0]))[0]
        fragment = Fragment(
            store_id=store_id,
            camera_id=camera_id,
            track_id=track_id,
            start_ms=first.event_time_ms,
            end_ms=last.event_time_ms,
            first_x=first.foot_x,
            first_y=first.foot_y,
            last_x=last.foot_x,
            last_y=last.foot_y,
            group=group,
            observations=len(ordered),
            first_zones=first.zones,
            last_zones=last.zones,
        )
        return Track(
            fragment=fragment,
            stints=_stints(ordered),
            crossings=tuple(
                Crossing(s.event_time_ms, line, direction, s.zones)
                for s in ordered
                for line, direction in s.crossings
            ),
            genders=_ranked(s.gender for s in ordered),
            age_groups=_ranked(s.age_group for s in ordered),
            heat=_heat(ordered, grid_size),
            grid_size=grid_size,
            received=self.received,
            entry_ids=b"".join(sorted(map(packed_id, self.records))),
        )


def _stints(ordered: list[Sighting]) -> tuple[Stint, ...]:
    stints: list[Stint] = []
    open_since: dict[str, int] = {}
    previous_ms = ordered[0].event_time_ms
    for sighting in ordered:
        t_ms, zones = sighting.event_time_ms, sighting.zones
        for zone in [z for z in open_since if z not in zones]:
            stints.append(Stint(zone, open_since.pop(zone), previous_ms))
        for zone in zones:
            open_since.setdefault(zone, t_ms)
        previous_ms = t_ms
    stints.extend(Stint(zone, start, previous_ms) for zone, start in open_since.items())
    return tuple(sorted(stints, key=lambda s: (s.start_ms, s.end_ms, s.zone_id)))


def _ranked(labels: Iterable[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(Counter(labels).items(), key=lambda kv: (-kv[1], kv[0])))


def _heat(ordered: list[Sighting], grid_size: int) -> tuple[tuple[int, int, int, int], ...]:
    last = grid_size - 1
    cells: Counter[tuple[int, int, int]] = Counter(
        (
            min(int(s.foot_x * grid_size), last),
            min(int(s.foot_y * grid_size), last),
            s.event_time_ms // MINUTE_MS,
        )
        for s in ordered
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
