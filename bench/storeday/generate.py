"""Drawing the day, step by step: people and their walks, occlusions, observations, delivery.

Every step takes the one seeded numpy Generator and draws from it in a fixed order, so the same config
(seed included) gives the same day. The steps hand each other named records of numpy columns. What the
walks are drawn from is in walks.py.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from anonflow.contract.entry import Gender
from bench.storeday.day import DEFAULT_CONFIG, StoreDay, StoreDayConfig
from bench.storeday.layout import BODY_ANCHORS, CAMERAS, FRONT, GENDERS, LEFT, RIGHT
from bench.storeday.walks import People, Visits, draw_people, occlusion_cuts, walk_routes

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

# The attribute network's probability of `male` for each gender label, before noise.
P_MALE: Final = {Gender.FEMALE: 0.2, Gender.MALE: 0.8, Gender.UNKNOWN: 0.5}


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
    people, arrival = draw_people(rng, config)
    visits = walk_routes(rng, people, arrival)
    fragments = split_by_occlusions(rng, visits)
    samples = sample_observations(rng, config, visits, fragments)
    columns = observe(rng, config, people=people, visits=visits, fragments=fragments, samples=samples)
    return deliver(rng, config, columns, t=samples.t, people=people, visits=visits, fragments=fragments)


def split_by_occlusions(rng: np.random.Generator, visits: Visits) -> Fragments:
    """Cut each visit into tracks at occlusions (a new track id after each), with gaps between them."""
    f_visit: list[int] = []
    f_start: list[float] = []
    f_end: list[float] = []
    for visit in range(len(visits)):
        start = float(visits.start[visit])
        end = start + float(visits.duration[visit])
        for a, b in occlusion_cuts(rng, int(visits.camera[visit]), start, end):
            f_visit.append(visit)
            f_start.append(a)
            f_end.append(b)
    return Fragments(
        visit=np.array(f_visit, dtype=np.int64),
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
    flick = rng.random(n) < people.flicker[person_of]
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
    people: People,
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
        person_party=people.party,
        person_staff=people.staff,
    )


def _hex(rng: np.random.Generator, count: int, nbytes: int) -> npt.NDArray[np.bytes_]:
    """`count` random ids of `nbytes` bytes, as lowercase hex in fixed-width byte strings."""
    raw = rng.integers(0, 256, size=count * nbytes, dtype=np.uint8).tobytes()
    return np.frombuffer(binascii.hexlify(raw), dtype=f"S{2 * nbytes}")
