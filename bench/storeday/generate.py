"""Drawing the day, step by step: people, their walks, occlusions, observations, delivery.

Every step takes the one seeded numpy Generator and draws from it in a fixed order, so the same config
(seed included) gives the same day. The steps hand each other named records of numpy columns.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from anonflow.contract.entry import AgeBand, Gender
from bench.storeday.day import DEFAULT_CONFIG, StoreDay, StoreDayConfig
from bench.storeday.layout import (
    AGE_BANDS,
    AISLE_A,
    AISLE_B,
    BODY_ANCHORS,
    CAMERAS,
    CHECKOUT,
    ENTRANCE,
    EXIT_SIDE,
    FRONT,
    GENDERS,
    LEFT,
    OUTSIDE,
    RIGHT,
    TRANSIT,
)

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

# Route model: next camera from each camera (OUTSIDE ends the visit), with probabilities.
NEXT: Final = {
    ENTRANCE: ((AISLE_A, AISLE_B), (0.55, 0.45)),
    AISLE_A: ((AISLE_B, CHECKOUT, ENTRANCE), (0.35, 0.45, 0.20)),
    AISLE_B: ((AISLE_A, CHECKOUT, ENTRANCE), (0.30, 0.50, 0.20)),
    CHECKOUT: ((ENTRANCE,), (1.0,)),
}
MEDIAN_STAY_S: Final = (12.0, 55.0, 55.0, 70.0)
GENDER_SHARE: Final = {Gender.FEMALE: 0.48, Gender.MALE: 0.44, Gender.UNKNOWN: 0.08}
AGE_SHARE: Final = {
    AgeBand.CHILD: 0.1,
    AgeBand.YOUNG: 0.35,
    AgeBand.MIDDLE: 0.3,
    AgeBand.SENIOR: 0.2,
    AgeBand.UNKNOWN: 0.05,
}
# The attribute network's probability of `male` for each gender label, before noise.
P_MALE: Final = {Gender.FEMALE: 0.2, Gender.MALE: 0.8, Gender.UNKNOWN: 0.5}
_HOURLY_PROFILE: Final = np.array([0.6, 0.8, 1.0, 1.1, 1.6, 1.5, 1.0, 0.9, 1.0, 1.5, 1.8, 1.2])


@dataclass(frozen=True, slots=True)
class People:
    """One row per person: arrival (UTC epoch s), appearance group, gender and age-band indices."""

    arrival: Floats
    group: Ints
    gender: Ints
    age: Ints


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


@dataclass(frozen=True, slots=True)
class Fragments:
    """One row per camera track (a visit cut by occlusions): its visit, start and end (s), and id."""

    visit: Ints
    start: Floats
    end: Floats
    track_ids: npt.NDArray[np.bytes_]

    def __len__(self) -> int:
        return len(self.visit)


@dataclass(frozen=True, slots=True)
class Samples:
    """One row per observation, every 1/fps s along each fragment: fragment, time (s), foot point.

    first_row / per_frag: per fragment, its first row and row count.
    """

    fragment: Ints
    visit: Ints
    t: Floats
    foot_x: Floats
    foot_y: Floats
    first_row: Ints
    per_frag: Ints

    def __len__(self) -> int:
        return len(self.t)


def generate(config: StoreDayConfig = DEFAULT_CONFIG) -> StoreDay:
    """Draw the whole day. Deterministic for a given config (seed included)."""
    rng = np.random.default_rng(config.seed)
    people = draw_people(rng, config)
    visits = walk_routes(rng, config, people)
    fragments = split_by_occlusions(rng, config, visits)
    samples = sample_observations(rng, config, visits, fragments)
    columns = observe(rng, config, people=people, visits=visits, fragments=fragments, samples=samples)
    return deliver(rng, config, columns, t=samples.t, visits=visits, fragments=fragments)


def draw_people(rng: np.random.Generator, config: StoreDayConfig) -> People:
    """Arrivals over the day's profile, and each person's appearance group, gender and age band."""
    arrival = _arrivals(rng, config)
    group = rng.integers(0, config.groups, size=config.visitors)
    gender = rng.choice(len(GENDERS), size=config.visitors, p=[GENDER_SHARE[g] for g in GENDERS])
    age = rng.choice(len(AGE_BANDS), size=config.visitors, p=[AGE_SHARE[a] for a in AGE_BANDS])
    return People(arrival=arrival, group=group, gender=gender, age=age)


def _arrivals(rng: np.random.Generator, config: StoreDayConfig) -> Floats:
    """Arrival instants (UTC epoch seconds) over the opening hours, following the hourly profile."""
    hours = config.close_hour - config.open_hour
    profile = np.resize(_HOURLY_PROFILE, hours)
    hour = rng.choice(hours, size=config.visitors, p=profile / profile.sum())
    zone = ZoneInfo(config.time_zone)
    opening = datetime(config.day.year, config.day.month, config.day.day, config.open_hour, tzinfo=zone)
    # Leave the last half hour for walking: nobody arrives just before closing.
    offsets = (hour + rng.uniform(0.0, 1.0, config.visitors)) * 3600.0 * (hours - 0.5) / hours
    return np.sort(opening.timestamp() + offsets)


def walk_routes(rng: np.random.Generator, config: StoreDayConfig, people: People) -> Visits:
    """Each person's route over the camera graph, from the door back to the door: one row per visit."""
    rows: list[tuple[int, int, float, float, tuple[float, float], tuple[float, float], int, int]] = []
    for person in range(config.visitors):
        t = float(people.arrival[person])
        camera, previous = ENTRANCE, OUTSIDE
        for step in range(10):
            choices, weights = NEXT[camera]
            following = int(rng.choice(choices, p=weights)) if step < 8 else ENTRANCE
            if camera == ENTRANCE and step > 0:
                following = OUTSIDE
            if camera != ENTRANCE and following == ENTRANCE and step < 2:
                following = int(rng.choice([c for c in choices if c != ENTRANCE]))
            duration = max(float(MEDIAN_STAY_S[camera] * rng.lognormal(0.0, 0.45)), 4.0)
            visit_group = int(people.group[person])
            if rng.random() < config.camera_drift:
                visit_group = int(rng.integers(0, config.groups))
            p0 = _side_point(rng, EXIT_SIDE.get((camera, previous), FRONT))
            p1 = _side_point(rng, EXIT_SIDE[(camera, following)])
            door = 1 if previous == OUTSIDE else -1 if following == OUTSIDE else 0
            rows.append((person, camera, t, duration, p0, p1, visit_group, door))
            if following == OUTSIDE:
                break
            lo, hi = TRANSIT[frozenset((camera, following))]
            if rng.random() < config.lingering:
                transit = float(rng.uniform(hi + 30.0, hi + 300.0))
            else:
                transit = float(rng.uniform(lo + 0.5, hi - 0.5))
            t += duration + transit
            camera, previous = following, camera
    person_, camera_, start, duration_, p0_, p1_, group, door_ = zip(*rows, strict=True)
    return Visits(
        person=np.array(person_),
        camera=np.array(camera_),
        start=np.array(start),
        duration=np.array(duration_),
        p0=np.array(p0_),
        p1=np.array(p1_),
        group=np.array(group),
        door=np.array(door_),
    )


def _side_point(rng: np.random.Generator, side: int) -> tuple[float, float]:
    if side == FRONT:
        return float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.86, 0.96))
    x = rng.uniform(0.05, 0.3) if side == LEFT else rng.uniform(0.7, 0.95)
    return float(x), float(rng.uniform(0.38, 0.5))


def split_by_occlusions(rng: np.random.Generator, config: StoreDayConfig, visits: Visits) -> Fragments:
    """Cut each visit into tracks at occlusions (a new track id after each), with gaps between them."""
    f_visit: list[int] = []
    f_start: list[float] = []
    f_end: list[float] = []
    breaks = rng.poisson(config.occlusions_per_minute * visits.duration / 60.0)
    for visit in range(len(visits)):
        start, end = visits.start[visit], visits.start[visit] + visits.duration[visit]
        count = breaks[visit] if visits.duration[visit] > 6 else 0
        cuts = np.sort(rng.uniform(start + 2.0, end - 2.0, size=count))
        piece_start = start
        for cut in cuts:
            long = rng.random() < config.long_occlusions
            gap = float(rng.uniform(5.0, 12.0) if long else rng.uniform(0.6, 3.0))
            if cut - gap / 2 - piece_start < 1.0 or end - (cut + gap / 2) < 1.0:
                continue
            f_visit.append(visit)
            f_start.append(piece_start)
            f_end.append(cut - gap / 2)
            piece_start = cut + gap / 2
        f_visit.append(visit)
        f_start.append(piece_start)
        f_end.append(end)
    return Fragments(
        visit=np.array(f_visit),
        start=np.array(f_start),
        end=np.array(f_end),
        track_ids=_hex(rng, len(f_visit), 8),
    )


def sample_observations(
    rng: np.random.Generator, config: StoreDayConfig, visits: Visits, fragments: Fragments
) -> Samples:
    """One observation every 1/fps s along each fragment; the foot point wanders from entry to exit."""
    per_frag = np.floor((fragments.end - fragments.start) * config.fps).astype(np.int64) + 1
    n = int(per_frag.sum())
    frag_of = np.repeat(np.arange(len(fragments)), per_frag)
    first_row = np.concatenate(([0], np.cumsum(per_frag)[:-1]))
    step = np.arange(n) - np.repeat(first_row, per_frag)
    t = fragments.start[frag_of] + step / config.fps + rng.uniform(0.0, 0.2 / config.fps, n)
    visit_of = fragments.visit[frag_of]
    u = np.clip((t - visits.start[visit_of]) / visits.duration[visit_of], 0.0, 1.0)
    wander_amp = rng.uniform(-0.12, 0.12, size=(len(visits), 2))
    wander_k = rng.integers(1, 3, size=len(visits))
    wave = np.sin(np.pi * wander_k[visit_of] * u)[:, None]
    p0, p1 = visits.p0[visit_of], visits.p1[visit_of]
    foot = p0 + (p1 - p0) * u[:, None] + wander_amp[visit_of] * wave
    foot = np.clip(foot + rng.normal(0.0, 0.003, size=(n, 2)), 0.02, 0.98).round(4)
    return Samples(
        fragment=frag_of,
        visit=visit_of,
        t=t,
        foot_x=foot[:, 0],
        foot_y=foot[:, 1],
        first_row=first_row,
        per_frag=per_frag,
    )


def observe(
    rng: np.random.Generator,
    config: StoreDayConfig,
    *,
    people: People,
    visits: Visits,
    fragments: Fragments,
    samples: Samples,
) -> dict[str, npt.NDArray[Any]]:
    """What the edge would send for each observation: zone, group, door crossing, box, body, labels."""
    n = len(samples)
    fx, fy = samples.foot_x, samples.foot_y
    camera_of = visits.camera[samples.visit]
    person_of = visits.person[samples.visit]
    side = np.where(fy >= 0.65, FRONT, np.where(fx < 0.5, LEFT, RIGHT))
    group = visits.group[samples.visit]
    flick = rng.random(n) < config.flicker
    group = np.where(flick, rng.integers(0, config.groups, n), group)
    crossing = door_crossings(visits, fragments, samples)
    box = _boxes(fx, fy)
    dy = visits.p1[samples.visit, 1] - visits.p0[samples.visit, 1]
    orientation = np.where(dy > 0.05, 0, np.where(dy < -0.05, 1, 2))  # towards the camera: front
    gender = people.gender[person_of]
    p_male = np.array([P_MALE[g] for g in GENDERS])[gender] + rng.normal(0, 0.05, n)
    keypoints = _keypoints(rng, box)
    return {
        "entry_id": _hex(rng, n, 16),
        "camera": camera_of,
        "track": samples.fragment,
        "event_time_ms": np.round(samples.t * 1000).astype(np.int64),
        **box,
        "foot_x": fx,
        "foot_y": fy,
        "keypoints": keypoints,
        "orientation": orientation,
        "gender": gender,
        "age_band": people.age[person_of],
        "p_male": np.clip(p_male, 0.0, 1.0).round(3),
        "group": group.astype(np.int64),
        "zone": camera_of * 3 + side,
        "crossing": crossing,
    }


def door_crossings(visits: Visits, fragments: Fragments, samples: Samples) -> npt.NDArray[np.int8]:
    """+1 on the second entry of each arrival visit (inwards), -1 on the last entry of each leaving one."""
    n, count = len(samples), len(fragments)
    crossing = np.zeros(n, dtype=np.int8)
    visit_first_frag = np.full(len(visits), count)
    np.minimum.at(visit_first_frag, fragments.visit, np.arange(count))
    visit_last_frag = np.full(len(visits), -1)
    np.maximum.at(visit_last_frag, fragments.visit, np.arange(count))
    inward = np.flatnonzero(visits.door == 1)
    crossing[np.minimum(samples.first_row[visit_first_frag[inward]] + 1, n - 1)] = 1
    outward = np.flatnonzero(visits.door == -1)
    last = visit_last_frag[outward]
    crossing[samples.first_row[last] + samples.per_frag[last] - 1] = -1
    return crossing


def _boxes(fx: Floats, fy: Floats) -> dict[str, Floats]:
    """Body boxes standing on the foot point, taller nearer the camera (lower in the image)."""
    height = 0.18 + 0.4 * fy
    width = 0.38 * height
    return {
        "x_min": np.clip(fx - width / 2, 0.0, 1.0).round(4),
        "y_min": np.clip(fy - height, 0.0, 1.0).round(4),
        "x_max": np.clip(fx + width / 2, 0.0, 1.0).round(4),
        "y_max": np.clip(fy + 0.01, 0.0, 1.0).round(4),
    }


def _keypoints(rng: np.random.Generator, box: dict[str, Floats]) -> Floats:
    """Body key points at their anchors in the box, with a little noise and a confident score."""
    x_min, y_min, x_max, y_max = box["x_min"], box["y_min"], box["x_max"], box["y_max"]
    n, points = len(x_min), len(BODY_ANCHORS)
    anchors = np.array([(ax, ay) for _, ax, ay in BODY_ANCHORS])
    keypoints = np.empty((n, points, 3))
    keypoints[:, :, 0] = x_min[:, None] + anchors[None, :, 0] * (x_max - x_min)[:, None]
    keypoints[:, :, 1] = y_min[:, None] + anchors[None, :, 1] * (y_max - y_min)[:, None]
    keypoints[:, :, :2] += rng.normal(0, 0.002, size=(n, points, 2))
    keypoints[:, :, :2] = np.clip(keypoints[:, :, :2], 0.0, 1.0).round(4)
    keypoints[:, :, 2] = rng.uniform(0.55, 0.99, size=(n, points)).round(3)
    return keypoints


def deliver(
    rng: np.random.Generator,
    config: StoreDayConfig,
    columns: dict[str, npt.NDArray[Any]],
    *,
    t: Floats,
    visits: Visits,
    fragments: Fragments,
) -> StoreDay:
    """At-least-once delivery (some entries arrive twice, a little later), grouped into hourly files."""
    n = len(t)
    repeats = np.flatnonzero(rng.random(n) < config.duplicates)
    rows = np.concatenate((np.arange(n), repeats))
    delivered = np.concatenate((t, t[repeats] + rng.uniform(1.0, 600.0, len(repeats))))
    hour = (np.floor(t[rows] / 3600.0)).astype(np.int64)
    file_key = hour * len(CAMERAS) + columns["camera"][rows]
    order = np.lexsort((delivered, file_key))
    delivery = rows[order]
    return StoreDay(
        config=config,
        columns={name: values[delivery] for name, values in columns.items()},
        file_keys=file_key[order],
        repeats=(np.arange(len(rows)) >= n)[order],
        track_ids=fragments.track_ids,
        track_camera=visits.camera[fragments.visit],
        track_person=visits.person[fragments.visit],
    )


def _hex(rng: np.random.Generator, count: int, nbytes: int) -> npt.NDArray[np.bytes_]:
    """`count` random ids of `nbytes` bytes, as lowercase hex in fixed-width byte strings."""
    raw = rng.integers(0, 256, size=count * nbytes, dtype=np.uint8).tobytes()
    return np.frombuffer(binascii.hexlify(raw), dtype=f"S{2 * nbytes}")
