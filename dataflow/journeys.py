"""Journeys and store-days: re-connected tracks, the currency every table is computed from.

A `Journey` is one anonymous visit to the store: the tracks re-connection joined, their zone stays
merged into `Visit`s, and one demographic label. A `StoreDay` holds every journey of one store over one
store-local day, as of one pane of that day's window (one pane in a batch run; in a streaming run early
panes, the on-time pane and late panes each hold the whole day so far).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from anonflow.dataflow.people.model import People
from anonflow.dataflow.reconnect.fragments import FragmentKey
from anonflow.dataflow.tracks import Crossing, Track

STORE_ZONE: Final = "*"
"""Zone id of the whole-store rows: every camera, in a zone or not (real zone ids cannot start with '*')."""
UNKNOWN: Final = "unknown"


@dataclass(frozen=True, slots=True)
class Visit:
    """A journey's stay in one zone, UTC ms, both ends inclusive.

    Stints of the journey's tracks in the zone are merged when the gap between them is at most the
    store's occlusion gap (the same person briefly hidden). The whole-store visit (zone `*`) runs from
    the journey's first observation to its last.
    """

    zone_id: str
    start_ms: int
    end_ms: int

    @property
    def seconds(self) -> float:
        return (self.end_ms - self.start_ms) / 1000


@dataclass(frozen=True, slots=True)
class Journey:
    """One anonymous journey: random id, its tracks (time order), zone visits (start order) and label.

    gender / age_group: the majority label over the journey's observations, ignoring "unknown"; a tie
    between the two most frequent labels, or no known label at all, gives "unknown".
    """

    journey_id: str
    tracks: tuple[Track, ...]
    visits: tuple[Visit, ...]
    gender: str
    age_group: str

    @classmethod
    def of(cls, journey_id: str, tracks: Iterable[Track], visit_gap_ms: int) -> Journey:
        ordered = tuple(sorted(tracks, key=lambda t: (t.fragment.start_ms, t.fragment.key)))
        if not ordered:
            raise ValueError(f"journey {journey_id} has no tracks")
        return cls(
            journey_id=journey_id,
            tracks=ordered,
            visits=_visits(ordered, visit_gap_ms),
            gender=_majority(label for t in ordered for label in t.genders),
            age_group=_majority(label for t in ordered for label in t.age_groups),
        )

    @property
    def start_ms(self) -> int:
        return self.tracks[0].fragment.start_ms

    @property
    def end_ms(self) -> int:
        return max(t.fragment.end_ms for t in self.tracks)

    def crossings(self) -> Iterator[Crossing]:
        for track in self.tracks:
            yield from track.crossings


def _visits(tracks: Sequence[Track], gap_ms: int) -> tuple[Visit, ...]:
    by_zone: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for track in tracks:
        for stint in track.stints:
            by_zone[stint.zone_id].append((stint.start_ms, stint.end_ms))
    visits = [
        Visit(STORE_ZONE, tracks[0].fragment.start_ms, max(t.fragment.end_ms for t in tracks)),
    ]
    for zone, spans in by_zone.items():
        spans.sort()
        start, end = spans[0]
        for s, e in spans[1:]:
            if s - end > gap_ms:
                visits.append(Visit(zone, start, end))
                start, end = s, e
            else:
                end = max(end, e)
        visits.append(Visit(zone, start, end))
    return tuple(sorted(visits, key=lambda v: (v.start_ms, v.end_ms, v.zone_id)))


def _majority(counts: Iterable[tuple[str, int]]) -> str:
    total: Counter[str] = Counter()
    for label, n in counts:
        if label != UNKNOWN:
            total[label] += n
    ranked = total.most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return UNKNOWN
    return ranked[0][0]


@dataclass(frozen=True, slots=True)
class StoreDay:
    """All journeys of one store over one store-local day [start_ms, end_ms) (UTC ms), as of one pane.

    pane: the pane index of the day's window (0 in a batch run); timing: "early", "on_time", "late" or
    "unknown" (batch runners do not say). observations / duplicates: distinct entries and repeated
    deliveries the day's tracks hold, duplicates including the `replayed` deliveries of tracks dropped
    because other tracks hold all their entries (dataflow/shared.py). people: which estimated person
    each journey belongs to (dataflow/people); None: one person per journey.
    """

    store_id: str
    time_zone: str
    start_ms: int
    end_ms: int
    pane: int
    timing: str
    journeys: tuple[Journey, ...]
    people: People | None = None
    replayed: int = 0

    @property
    def persons(self) -> People:
        """The people estimate (one person per journey when none was made)."""
        return self.people if self.people is not None else People.one_per_journey(len(self.journeys))

    @property
    def date(self) -> str:
        """The store-local calendar date of the day (the table partition)."""
        return datetime.fromtimestamp(self.start_ms / 1000, ZoneInfo(self.time_zone)).date().isoformat()

    @property
    def observations(self) -> int:
        return sum(t.fragment.observations for j in self.journeys for t in j.tracks)

    @property
    def duplicates(self) -> int:
        return self.replayed + sum(t.duplicates for j in self.journeys for t in j.tracks)


def journeys_of(
    tracks: Iterable[Track], journey_of: Mapping[FragmentKey, str], visit_gap_ms: int
) -> tuple[Journey, ...]:
    """Group tracks by their journey id (every track must have one) into journeys, in start order."""
    members: dict[str, list[Track]] = defaultdict(list)
    for track in tracks:
        members[journey_of[track.fragment.key]].append(track)
    journeys = [Journey.of(journey_id, group, visit_gap_ms) for journey_id, group in members.items()]
    return tuple(sorted(journeys, key=lambda j: (j.start_ms, j.tracks[0].fragment.key)))
