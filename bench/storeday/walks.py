"""Who comes in and how they walk: the benchmark's truth, drawn from distributions of its own.

The truth must not be shaped by the job's rules, or a recall figure against it would only say that the
rule agrees with itself. So nothing here reads the store file's occlusion rule or link transit ranges
(layout.OCCLUSION, layout.TRANSIT); walks come from walking distances, walking speeds, stay times and
occlusion gaps of their own (the tables below, also in bench/README.md):

- parties: shoppers arrive as parties of 1 (68 %), 2 (22 %), 3 (7 %) or 4 (3 %); members walk the same
  route, each a fixed 0-3 s behind the first (+-0.6 s per camera), with their own clothes and labels;
- arrivals: the party's hour from the day profile (lunch and after-work peaks), uniform within the hour;
- route: a Markov chain over the cameras (ROUTE), at least two cameras after the entrance, at most ten;
- stay under a camera: log-normal, median 12 s (entrance), 50 s (aisles), 65 s (checkout), sigma 0.6;
- walk between cameras: distance (5-14 m by link) / the person's walking speed (normal 1.15 m/s, sd 0.25)
  plus a pause out of view (exponential, mean 5 s); 8 % of walks linger (exponential, mean 150 s);
- occlusions: a Poisson process per view (0.4/min entrance, 0.9/min aisles, 1.3/min checkout queue), each
  hiding the person for a log-normal gap (median 1.6 s, sigma 0.85; about 11 % last over 4 s), after
  which the tracker gives a new id;
- light: under each camera's light a person's clothes hash into another appearance group with a
  per-camera chance (entrance daylight 12 %, aisles 3 %, checkout 8 %), the same on every visit there;
- group flicker: a per-person share of observations in a random group, Beta(0.4, 10) (mean 3.8 %);
- staff: `staff` people come in through the door within 20 min of opening and work 5-9 h shifts of long
  stays (log-normal, median 240 s, sigma 0.7) away from the entrance, with breaks out of view
  (exponential, mean 7 min), then leave through the door.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from anonflow.contract.entry import AgeBand, Gender
from bench.storeday.day import StoreDayConfig
from bench.storeday.layout import (
    AGE_BANDS,
    AISLE_A,
    AISLE_B,
    CAMERAS,
    CHECKOUT,
    ENTRANCE,
    EXIT_SIDE,
    FRONT,
    GENDERS,
    LEFT,
    OUTSIDE,
)

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

PARTY_SIZE: Final = {1: 0.68, 2: 0.22, 3: 0.07, 4: 0.03}
# Route model: next camera from each camera, with probabilities (the entrance after the first visit ends
# the walk).
ROUTE: Final = {
    ENTRANCE: ((AISLE_A, AISLE_B), (0.55, 0.45)),
    AISLE_A: ((AISLE_B, CHECKOUT, ENTRANCE), (0.35, 0.45, 0.20)),
    AISLE_B: ((AISLE_A, CHECKOUT, ENTRANCE), (0.30, 0.50, 0.20)),
    CHECKOUT: ((ENTRANCE,), (1.0,)),
}
MEDIAN_STAY_S: Final = (12.0, 50.0, 50.0, 65.0)
STAY_SIGMA: Final = 0.6
MIN_STAY_S: Final = 3.0
# Walking distance (m) between two cameras' views.
DISTANCE_M: Final = {
    frozenset((ENTRANCE, AISLE_A)): 9.0,
    frozenset((ENTRANCE, AISLE_B)): 11.0,
    frozenset((AISLE_A, AISLE_B)): 14.0,
    frozenset((AISLE_A, CHECKOUT)): 12.0,
    frozenset((AISLE_B, CHECKOUT)): 10.0,
    frozenset((CHECKOUT, ENTRANCE)): 5.0,
}
SPEED_M_S: Final = (1.15, 0.25, 0.5, 2.0)  # mean, sd, min, max
PAUSE_MEAN_S: Final = 5.0
LINGER_SHARE: Final = 0.08
LINGER_MEAN_S: Final = 150.0
OCCLUSIONS_PER_MIN: Final = (0.4, 0.9, 0.9, 1.3)
GAP_MEDIAN_S: Final = 1.6
GAP_SIGMA: Final = 0.85
LIGHT_CHANGE: Final = (0.12, 0.03, 0.03, 0.08)
FLICKER_BETA: Final = (0.4, 10.0)
STAFF_SHIFT_H: Final = (5.0, 9.0)
STAFF_STAY_MEDIAN_S: Final = 240.0
STAFF_STAY_SIGMA: Final = 0.7
STAFF_BREAK_MEAN_S: Final = 420.0
GENDER_SHARE: Final = {Gender.FEMALE: 0.48, Gender.MALE: 0.44, Gender.UNKNOWN: 0.08}
AGE_SHARE: Final = {
    AgeBand.CHILD: 0.1,
    AgeBand.YOUNG: 0.35,
    AgeBand.MIDDLE: 0.3,
    AgeBand.SENIOR: 0.2,
    AgeBand.UNKNOWN: 0.05,
}
_HOURLY_PROFILE: Final = np.array([0.6, 0.8, 1.0, 1.1, 1.6, 1.5, 1.0, 0.9, 1.0, 1.5, 1.8, 1.2])


@dataclass(frozen=True, slots=True)
class People:
    """One row per person (shoppers by party, then staff).

    party: party index (staff: their own); lag_s: how far behind the party's first member they walk;
    staff: works there; speed: walking speed (m/s); group: appearance group under neutral light;
    light_group: [P, cameras] the group under each camera's light; flicker: share of observations in a
    random group; gender / age: indices into GENDERS / AGE_BANDS.
    """

    party: Ints
    lag_s: Floats
    staff: npt.NDArray[np.bool_]
    speed: Floats
    group: Ints
    light_group: Ints
    flicker: Floats
    gender: Ints
    age: Ints

    def __len__(self) -> int:
        return len(self.party)


@dataclass(frozen=True, slots=True)
class Stop:
    """One stop of a route: a camera, when the walker arrives under it (s) and how long they stay."""

    camera: int
    start: float
    duration: float


@dataclass(frozen=True, slots=True)
class Visits:
    """One row per camera visit: person, camera, start (s), duration (s), entry and exit foot points
    ([V, 2]), appearance group under that camera, door (+1 crosses inwards at its start, -1 outwards
    at its end, 0 none)."""

    person: Ints
    camera: Ints
    start: Floats
    duration: Floats
    p0: Floats
    p1: Floats
    group: Ints
    door: Ints

    def __len__(self) -> int:
        return len(self.person)


def opening(config: StoreDayConfig) -> float:
    """The store's opening instant, UTC epoch seconds."""
    zone = ZoneInfo(config.time_zone)
    return datetime(
        config.day.year, config.day.month, config.day.day, config.open_hour, tzinfo=zone
    ).timestamp()


def draw_people(rng: np.random.Generator, config: StoreDayConfig) -> tuple[People, Floats]:
    """Everyone of the day, and each party's arrival (UTC epoch s; staff are parties of their own)."""
    shoppers = config.visitors - config.staff
    if shoppers < 0:
        raise ValueError(f"staff ({config.staff}) exceeds visitors ({config.visitors})")
    sizes = party_sizes(rng, shoppers)
    parties = len(sizes)
    party = np.r_[np.repeat(np.arange(parties), sizes), parties + np.arange(config.staff)].astype(np.int64)
    first = np.r_[True, party[1:] != party[:-1]]
    lag = np.where(first, 0.0, rng.uniform(0.0, 3.0, len(party)))
    arrival = np.r_[_arrivals(rng, config, parties), _staff_arrivals(rng, config)]
    n = len(party)
    mean, sd, lo, hi = SPEED_M_S
    group = rng.integers(0, config.groups, size=n)
    changed = rng.random((n, len(CAMERAS))) < np.array(LIGHT_CHANGE)[None, :]
    light_group = np.where(changed, rng.integers(0, config.groups, size=(n, len(CAMERAS))), group[:, None])
    people = People(
        party=party,
        lag_s=lag,
        staff=np.arange(n) >= shoppers,
        speed=np.clip(rng.normal(mean, sd, n), lo, hi),
        group=group,
        light_group=light_group,
        flicker=rng.beta(*FLICKER_BETA, size=n),
        gender=rng.choice(len(GENDERS), size=n, p=[GENDER_SHARE[g] for g in GENDERS]),
        age=rng.choice(len(AGE_BANDS), size=n, p=[AGE_SHARE[a] for a in AGE_BANDS]),
    )
    return people, arrival


def party_sizes(rng: np.random.Generator, people: int) -> Ints:
    """Party sizes adding up to exactly `people` (the last party is cut to fit)."""
    sizes = list(PARTY_SIZE)
    drawn = rng.choice(sizes, size=people, p=[PARTY_SIZE[s] for s in sizes])
    ends = np.cumsum(drawn)
    count = int(np.searchsorted(ends, people)) + 1 if people else 0
    out = drawn[:count].astype(np.int64)
    if count:
        out[-1] -= int(ends[count - 1]) - people
    return out


def _arrivals(rng: np.random.Generator, config: StoreDayConfig, count: int) -> Floats:
    """Arrival instants (UTC epoch seconds) over the opening hours, following the hourly profile."""
    hours = config.close_hour - config.open_hour
    profile = np.resize(_HOURLY_PROFILE, hours)
    hour = rng.choice(hours, size=count, p=profile / profile.sum())
    # Leave the last half hour for walking: nobody arrives just before closing.
    offsets = (hour + rng.uniform(0.0, 1.0, count)) * 3600.0 * (hours - 0.5) / hours
    return np.sort(opening(config) + offsets)


def _staff_arrivals(rng: np.random.Generator, config: StoreDayConfig) -> Floats:
    return opening(config) + rng.uniform(0.0, 1200.0, config.staff)


def shopper_route(rng: np.random.Generator, arrival: float, speed: float) -> list[Stop]:
    """A shopper's stops, from the entrance back to it."""
    stops: list[Stop] = []
    camera, t = ENTRANCE, arrival
    for step in range(10):
        duration = max(float(MEDIAN_STAY_S[camera] * rng.lognormal(0.0, STAY_SIGMA)), MIN_STAY_S)
        stops.append(Stop(camera, t, duration))
        if camera == ENTRANCE and step > 0:
            break
        choices, weights = ROUTE[camera]
        following = int(rng.choice(choices, p=weights)) if step < 8 else ENTRANCE
        if following == ENTRANCE and step < 2:
            following = int(rng.choice([c for c in choices if c != ENTRANCE]))
        t += duration + walk_time(rng, camera, following, speed)
        camera = following
    return stops


def walk_time(rng: np.random.Generator, a: int, b: int, speed: float) -> float:
    """Seconds out of view between leaving camera a and appearing under camera b."""
    pause = rng.exponential(PAUSE_MEAN_S)
    if rng.random() < LINGER_SHARE:
        pause += rng.exponential(LINGER_MEAN_S)
    return float(DISTANCE_M[frozenset((a, b))] / speed + pause)


def staff_route(rng: np.random.Generator, arrival: float, speed: float) -> list[Stop]:
    """A shift: in through the door, long stays away from the entrance with breaks, out through the door."""
    shift_end = arrival + rng.uniform(*STAFF_SHIFT_H) * 3600.0
    stops = [Stop(ENTRANCE, arrival, max(float(rng.lognormal(np.log(8.0), 0.3)), MIN_STAY_S))]
    camera = int(rng.choice((AISLE_A, AISLE_B)))
    t = arrival + stops[0].duration + walk_time(rng, ENTRANCE, camera, speed)
    while t < shift_end:
        duration = max(float(STAFF_STAY_MEDIAN_S * rng.lognormal(0.0, STAFF_STAY_SIGMA)), MIN_STAY_S)
        stops.append(Stop(camera, t, duration))
        following = int(rng.choice([c for c in (AISLE_A, AISLE_B, CHECKOUT) if c != camera]))
        t += duration + walk_time(rng, camera, following, speed) + rng.exponential(STAFF_BREAK_MEAN_S)
        camera = following
    if stops[-1].camera in (AISLE_A, AISLE_B, CHECKOUT):
        last = stops[-1]
        t = last.start + last.duration + walk_time(rng, last.camera, ENTRANCE, speed)
    stops.append(Stop(ENTRANCE, t, max(float(rng.lognormal(np.log(8.0), 0.3)), MIN_STAY_S)))
    return stops


def walk_routes(rng: np.random.Generator, people: People, arrival: Floats) -> Visits:
    """Every person's camera visits: parties share a route, each member a little behind the first."""
    rows: list[tuple[int, int, float, float, tuple[float, float], tuple[float, float], int, int]] = []
    party_start = np.flatnonzero(np.r_[True, people.party[1:] != people.party[:-1]])
    party_end = np.r_[party_start[1:], len(people)]
    for p, (a, b) in enumerate(zip(party_start, party_end, strict=True)):
        leader = int(a)
        draw = staff_route if people.staff[leader] else shopper_route
        stops = draw(rng, float(arrival[p]), float(people.speed[leader]))
        sides = [_side_point(rng, s) for s in _stop_sides(stops)]
        for person in range(int(a), int(b)):
            jitter = 0.0 if person == leader else 0.03
            for k, stop in enumerate(stops):
                late = people.lag_s[person] + (rng.normal(0.0, 0.6) if person != leader else 0.0)
                p0 = _nudge(rng, sides[k][0], jitter)
                p1 = _nudge(rng, sides[k][1], jitter)
                door = 1 if k == 0 else -1 if k == len(stops) - 1 else 0
                group = int(people.light_group[person, stop.camera])
                rows.append(
                    (person, stop.camera, stop.start + max(late, 0.0), stop.duration, p0, p1, group, door)
                )
    person_, camera_, start, duration, p0_, p1_, group_, door_ = zip(*rows, strict=True)
    return Visits(
        person=np.array(person_, dtype=np.int64),
        camera=np.array(camera_, dtype=np.int64),
        start=np.array(start),
        duration=np.array(duration),
        p0=np.array(p0_),
        p1=np.array(p1_),
        group=np.array(group_, dtype=np.int64),
        door=np.array(door_, dtype=np.int64),
    )


def _stop_sides(stops: list[Stop]) -> list[tuple[int, int]]:
    """Where each stop is entered and left: the side facing the previous / next camera (door: front)."""
    cameras = [OUTSIDE, *(s.camera for s in stops), OUTSIDE]
    return [
        (
            EXIT_SIDE.get((cameras[i], cameras[i - 1]), FRONT),
            EXIT_SIDE.get((cameras[i], cameras[i + 1]), FRONT),
        )
        for i in range(1, len(cameras) - 1)
    ]


def _side_point(
    rng: np.random.Generator, sides: tuple[int, int]
) -> tuple[tuple[float, float], tuple[float, float]]:
    return _point(rng, sides[0]), _point(rng, sides[1])


def _point(rng: np.random.Generator, side: int) -> tuple[float, float]:
    if side == FRONT:
        return float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.86, 0.96))
    x = rng.uniform(0.05, 0.3) if side == LEFT else rng.uniform(0.7, 0.95)
    return float(x), float(rng.uniform(0.38, 0.5))


def _nudge(rng: np.random.Generator, point: tuple[float, float], sd: float) -> tuple[float, float]:
    if sd == 0.0:
        return point
    x, y = point + rng.normal(0.0, sd, 2)
    return float(np.clip(x, 0.03, 0.97)), float(np.clip(y, 0.03, 0.97))


def occlusion_cuts(
    rng: np.random.Generator, camera: int, start: float, end: float
) -> list[tuple[float, float]]:
    """The tracked pieces [(start, end)] of one visit after occlusions cut it (a new track id each)."""
    count = rng.poisson(OCCLUSIONS_PER_MIN[camera] * (end - start) / 60.0)
    cuts = np.sort(rng.uniform(start + 1.0, end - 1.0, size=count if end - start > 2.0 else 0))
    gaps = rng.lognormal(np.log(GAP_MEDIAN_S), GAP_SIGMA, size=len(cuts))
    pieces: list[tuple[float, float]] = []
    piece_start = start
    for cut, gap in zip(cuts, gaps, strict=True):
        if cut - gap / 2 - piece_start < 1.0 or end - (cut + gap / 2) < 1.0:
            continue
        pieces.append((piece_start, float(cut - gap / 2)))
        piece_start = float(cut + gap / 2)
    pieces.append((piece_start, end))
    return pieces
