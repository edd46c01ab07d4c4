"""Support that counts people, not journeys: the conservative head count disclosure control relies on.

Re-connection can leave one person as several journeys (a track lost behind a rack for longer than the
occlusion rule allows, a camera hand-over it could not prove), and the appearance group cannot join
them: it is a per-camera clothing-colour hash that changes from camera to camera with the light. A
row's `visitors` would count such a shopper two or three times, and a k-threshold on it would publish
a cell that one person backs.

So support is a *lower bound on the people behind the row's journeys* that needs one assumption only:
a person is in one place at a time, so two journeys of one person do not overlap in time by more than
`OVERLAP_MS` (the slack of two cameras seeing the same person at a hand-over). Journeys that all cover
one common stretch longer than the slack are then different people (`fewest_people`). Whatever
re-connection did, the true number of people behind a row is at least this; `bench/privacy.py` checks
the assumption and the bound on the benchmark day against the generator's person truth. The price:
shoppers who came one after another could, as far as the data can tell, be one person coming back, so
small cells of short, separate visits are hidden.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from anonflow.dataflow.journeys import Journey

OVERLAP_MS: Final = 30_000
"""Two journeys overlapping by at most this long may still be one person (overlapping camera views)."""


@dataclass(frozen=True, slots=True)
class Contributor:
    """One journey as disclosure control sees it.

    identity: stable across re-runs and panes (the journey's first track as the gateway named it), so
    cell keys derived from it do not change when a day is recomputed; start_ms / end_ms: the journey's
    first and last observation (UTC ms).
    """

    identity: str
    start_ms: int
    end_ms: int


def identity(journey: Journey) -> str:
    """The journey's first track as store/camera/track id: what the gateway named, stable across runs."""
    return "/".join(journey.tracks[0].fragment.key)


def contributors(journeys: Sequence[Journey]) -> tuple[Contributor, ...]:
    """Every journey's `Contributor`, in the order given."""
    return tuple(Contributor(identity(j), j.start_ms, j.end_ms) for j in journeys)


def fewest_people(members: Iterable[Contributor], overlap_ms: int = OVERLAP_MS) -> int:
    """A lower bound on the people behind these journeys: the most of them that all cover one stretch
    of time longer than `overlap_ms`. Journeys covering a common stretch pairwise overlap by more than
    the slack, so each is a different person; journeys shorter than the slack are never counted.

    As a sweep: each journey is the half-open span [start, end - overlap_ms) of instants t it covers
    together with [t, t + overlap_ms]; the answer is the most spans holding one instant.
    """
    events: list[tuple[int, int]] = []
    for member in members:
        end = member.end_ms - overlap_ms
        if end > member.start_ms:
            events.append((member.start_ms, 1))
            events.append((end, -1))
    events.sort()  # at equal times an end (-1) sorts before a start: half-open spans
    depth = deepest = 0
    for _, step in events:
        depth += step
        deepest = max(deepest, depth)
    return deepest
