"""A synthetic store-day with known journeys: NDJSON entry files, the store configuration, and the truth.

The store (one, Europe/Berlin by default) has four cameras: `entrance`, `aisle-a`, `aisle-b` and
`checkout`. Each view has three zones: `<camera>-front` (foot point y >= 0.65), `<camera>-left` and
`<camera>-right` (the back half, split at x = 0.5). Visitors arrive through the door (a counting line on
the entrance camera), walk a random route over the camera graph and leave through the door again.

What makes it realistic for the Beam job:
- arrivals follow a daily profile (lunch and after-work peaks) over the store's opening hours, local time;
- every camera visit is one track, broken into fragments by occlusions (new track id after each): most
  gaps last 0.6-3 s, one in ten 5-12 s (longer than the store's occlusion rule allows, so not joinable);
- walks between cameras take a transit time inside the configured link range, except for about 5 %
  who linger out of view for minutes (these cannot and should not be joined);
- the appearance group flickers on ~3 % of entries and differs under one camera's lighting on ~5 % of
  visits (both cost re-connection recall, as they would in a real store);
- about 1 % of entries are delivered twice (same entry id), and a few hundred lines are bad (cut off,
  not JSON, a face key point, a missing field, out-of-range values).

Everything is drawn from one seeded numpy Generator, so the same seed writes the same files. The arrays are
built with numpy and written as fixed-width byte matrices, so a million entries take seconds.

    python -m bench.storeday --out /tmp/storeday --seed 1         # ~1 M entries
    python -m bench.storeday --out /tmp/small --visitors 200      # a small day for a quick look

Output: OUT/entries/YYYY/MM/DD/HH/<store>-<camera>.ndjson (UTC hour of the event, as Firehose nests
them), OUT/stores.yaml (the store configuration the job needs), OUT/truth.json (which person each track
belongs to, counts of duplicates and bad lines).
"""

from __future__ import annotations

import argparse
import binascii
import itertools
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import yaml

from anonflow.dataflow.reconnect.fragments import Fragment, FragmentKey
from anonflow.dataflow.stores import CameraLink, OcclusionRule, StoreConfig

CAMERAS: Final = ("entrance", "aisle-a", "aisle-b", "checkout")
ENTRANCE, AISLE_A, AISLE_B, CHECKOUT = range(4)
OUTSIDE: Final = -1
FRONT, LEFT, RIGHT = range(3)
SIDES: Final = ("front", "left", "right")

# Where a visitor leaves camera c to go to d (and so where they enter d coming from c): (c, d) -> side.
EXIT_SIDE: Final = {
    (ENTRANCE, OUTSIDE): FRONT,
    (ENTRANCE, AISLE_A): LEFT,
    (ENTRANCE, AISLE_B): RIGHT,
    (ENTRANCE, CHECKOUT): FRONT,
    (AISLE_A, ENTRANCE): FRONT,
    (AISLE_A, AISLE_B): RIGHT,
    (AISLE_A, CHECKOUT): LEFT,
    (AISLE_B, ENTRANCE): FRONT,
    (AISLE_B, AISLE_A): LEFT,
    (AISLE_B, CHECKOUT): RIGHT,
    (CHECKOUT, AISLE_A): LEFT,
    (CHECKOUT, AISLE_B): RIGHT,
    (CHECKOUT, ENTRANCE): FRONT,
}
# Route model: next camera from each camera (OUTSIDE ends the visit), with probabilities.
NEXT: Final = {
    ENTRANCE: ((AISLE_A, AISLE_B), (0.55, 0.45)),
    AISLE_A: ((AISLE_B, CHECKOUT, ENTRANCE), (0.35, 0.45, 0.20)),
    AISLE_B: ((AISLE_A, CHECKOUT, ENTRANCE), (0.30, 0.50, 0.20)),
    CHECKOUT: ((ENTRANCE,), (1.0,)),
}
# Transit time ranges (s) of the links; the generator draws true transits inside them.
TRANSIT: Final = {
    frozenset((ENTRANCE, AISLE_A)): (2.0, 20.0),
    frozenset((ENTRANCE, AISLE_B)): (2.0, 20.0),
    frozenset((AISLE_A, AISLE_B)): (3.0, 30.0),
    frozenset((AISLE_A, CHECKOUT)): (3.0, 30.0),
    frozenset((AISLE_B, CHECKOUT)): (3.0, 30.0),
    frozenset((CHECKOUT, ENTRANCE)): (2.0, 25.0),
}
MEDIAN_STAY_S: Final = (12.0, 55.0, 55.0, 70.0)
GENDERS: Final = ("female", "male", "unknown")
ORIENTATIONS: Final = ("front", "back", "side")
PRODUCER: Final = {
    "version": "0.1.0",
    "pose_model": "synthetic-store-day",
    "attribute_model": "synthetic-store-day",
}
CROSSINGS: Final[tuple[list[dict[str, str]], ...]] = (
    [],
    [{"line_id": "door", "direction": "in"}],
    [{"line_id": "door", "direction": "out"}],
)
AGE_BANDS: Final = ("0-17", "18-34", "35-54", "55+", "unknown")
BODY_POINTS: Final = (
    # name, x as a fraction of box width, y as a fraction of box height
    ("left_shoulder", 0.72, 0.14),
    ("right_shoulder", 0.28, 0.14),
    ("left_elbow", 0.80, 0.32),
    ("right_elbow", 0.20, 0.32),
    ("left_wrist", 0.82, 0.48),
    ("right_wrist", 0.18, 0.48),
    ("left_hip", 0.64, 0.52),
    ("right_hip", 0.36, 0.52),
    ("left_knee", 0.62, 0.74),
    ("right_knee", 0.38, 0.74),
    ("left_ankle", 0.60, 0.96),
    ("right_ankle", 0.40, 0.96),
)
_HOURLY_PROFILE: Final = np.array([0.6, 0.8, 1.0, 1.1, 1.6, 1.5, 1.0, 0.9, 1.0, 1.5, 1.8, 1.2])


@dataclass(frozen=True, slots=True)
class StoreDayConfig:
    """Knobs of the synthetic day; the defaults give about a million entries."""

    seed: int = 1
    day: date = date(2024, 5, 14)
    store_id: str = "store-001"
    time_zone: str = "Europe/Berlin"
    open_hour: int = 8
    close_hour: int = 20
    visitors: int = 2600
    fps: float = 2.0
    groups: int = 512
    occlusions_per_minute: float = 0.8
    long_occlusions: float = 0.1
    flicker: float = 0.03
    camera_drift: float = 0.05
    lingering: float = 0.05
    duplicates: float = 0.01
    bad_lines: int = 300


@dataclass(frozen=True, slots=True)
class StoreDay:
    """The generated day as flat numpy columns in delivery order, plus the truth.

    columns: one array per field, rows grouped by output file (file_keys) and in delivery order within
    a file; `repeats` marks second copies of an entry. Categorical fields hold indices into CAMERAS,
    GENDERS, AGE_BANDS, ORIENTATIONS and zone_names(); `keypoints` is float [N, 12, 3] (x, y, score).
    track_*: one row per track: its id (16 hex digits), camera index and person index.
    """

    config: StoreDayConfig
    columns: dict[str, npt.NDArray[Any]]
    file_keys: npt.NDArray[np.int64]
    repeats: npt.NDArray[np.bool_]
    track_ids: npt.NDArray[np.bytes_]
    track_camera: npt.NDArray[np.int64]
    track_person: npt.NDArray[np.int64]

    @property
    def rows(self) -> int:
        return len(self.file_keys)

    @property
    def unique_entries(self) -> int:
        return int((~self.repeats).sum())

    def store(self) -> StoreConfig:
        return store_config(self.config)

    def render(self, start: int, stop: int) -> bytes:
        """Rows [start, stop) as NDJSON lines in the entry contract's field order.

        Every field is written at a fixed width (numbers as fixed-point digits, short strings padded with
        spaces, which JSON allows between tokens), so a block of rows is one numpy byte matrix.
        """
        c = {name: values[start:stop] for name, values in self.columns.items()}
        lit = _Literal(stop - start)
        crossing = np.where(c["crossing"] > 0, 1, np.where(c["crossing"] < 0, 2, 0))
        blocks = [
            lit('{"schema_version":1,"entry_id":"'),
            _bytes(c["entry_id"]),
            lit(f'","store_id":{json.dumps(self.config.store_id)},"camera_id":'),
            _tokens([json.dumps(name) for name in CAMERAS], c["camera"]),
            lit(',"track_id":"'),
            _bytes(self.track_ids[c["track"]]),
            lit('","event_time_ms":'),
            _integer(c["event_time_ms"], 13),
            lit(',"box":{"x_min":'),
            _fixed(c["x_min"], 4),
            lit(',"y_min":'),
            _fixed(c["y_min"], 4),
            lit(',"x_max":'),
            _fixed(c["x_max"], 4),
            lit(',"y_max":'),
            _fixed(c["y_max"], 4),
            lit('},"foot":{"x":'),
            _fixed(c["foot_x"], 4),
            lit(',"y":'),
            _fixed(c["foot_y"], 4),
            lit('},"keypoints":{'),
        ]
        for i, (name, _, _) in enumerate(BODY_POINTS):
            blocks += [
                lit(f'{"," if i else ""}"{name}":{{"x":'),
                _fixed(c["keypoints"][:, i, 0], 4),
                lit(',"y":'),
                _fixed(c["keypoints"][:, i, 1], 4),
                lit(',"score":'),
                _fixed(c["keypoints"][:, i, 2], 3),
                lit("}"),
            ]
        blocks += [
            lit('},"orientation":'),
            _tokens([json.dumps(o) for o in ORIENTATIONS], c["orientation"]),
            lit(',"demographics":{"gender":'),
            _tokens([json.dumps(g) for g in GENDERS], c["gender"]),
            lit(',"age_band":'),
            _tokens([json.dumps(a) for a in AGE_BANDS], c["age_band"]),
            lit(',"attributes":{"male":'),
            _fixed(c["p_male"], 3),
            lit('}},"appearance_group":'),
            _integer(c["group"], 5),
            lit(f',"appearance_groups":{self.config.groups},"zones":'),
            _tokens([json.dumps([z]) for z in zone_names()], c["zone"]),
            lit(',"line_crossings":'),
            _tokens([_compact(x) for x in CROSSINGS], crossing),
            lit(',"producer":' + _compact(PRODUCER) + "}\n"),
        ]
        return np.concatenate(blocks, axis=1).tobytes()


def zone_names() -> tuple[str, ...]:
    """Zone ids by index: camera * 3 + side."""
    return tuple(f"{c}-{s}" for c in CAMERAS for s in SIDES)


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


class _Literal:
    """The same text on every one of n rows, as a broadcast (n, len) byte matrix."""

    def __init__(self, rows: int) -> None:
        self.rows = rows

    def __call__(self, text: str) -> npt.NDArray[np.uint8]:
        row = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        return np.broadcast_to(row, (self.rows, len(row)))


def _bytes(values: npt.NDArray[np.bytes_]) -> npt.NDArray[np.uint8]:
    """Fixed-width byte strings (hex ids) as a byte matrix."""
    width = values.dtype.itemsize
    return np.frombuffer(np.ascontiguousarray(values).tobytes(), dtype=np.uint8).reshape(len(values), width)


def _fixed(values: npt.NDArray[np.float64], decimals: int) -> npt.NDArray[np.uint8]:
    """Numbers in [0, 1] as "d.dddd" with a fixed number of decimals."""
    scale = 10**decimals
    k = np.rint(np.clip(values, 0.0, 1.0) * scale).astype(np.int64)
    out = np.empty((len(values), decimals + 2), dtype=np.uint8)
    out[:, 0] = 48 + k // scale
    out[:, 1] = ord(".")
    for j in range(decimals):
        out[:, 2 + j] = 48 + (k // 10 ** (decimals - 1 - j)) % 10
    return out


def _integer(values: npt.NDArray[np.int64], width: int) -> npt.NDArray[np.uint8]:
    """Non-negative integers right-aligned in `width` characters, padded with leading spaces."""
    out = np.empty((len(values), width), dtype=np.uint8)
    remaining = values.astype(np.int64)
    for j in range(width - 1, -1, -1):
        out[:, j] = np.where((remaining > 0) | (j == width - 1), 48 + remaining % 10, ord(" "))
        remaining = remaining // 10
    if np.any(remaining):
        raise ValueError(f"a value does not fit in {width} digits")
    return out


def _tokens(tokens: Sequence[str], index: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    """One of a few JSON tokens per row, padded with trailing spaces to the longest."""
    width = max(len(t) for t in tokens)
    table = np.frombuffer("".join(t.ljust(width) for t in tokens).encode("ascii"), dtype=np.uint8)
    return table.reshape(len(tokens), width)[index]


def store_config(config: StoreDayConfig) -> StoreConfig:
    """The store configuration that matches the generator's layout (what an operator would write)."""
    links = []
    for pair, (lo, hi) in TRANSIT.items():
        a, b = sorted(pair)
        links.append(
            CameraLink(
                from_camera=CAMERAS[a],
                to_camera=CAMERAS[b],
                from_zone=f"{CAMERAS[a]}-{SIDES[EXIT_SIDE[(a, b)]]}",
                to_zone=f"{CAMERAS[b]}-{SIDES[EXIT_SIDE[(b, a)]]}",
                min_transit_s=lo,
                max_transit_s=hi,
            )
        )
    return StoreConfig(
        store_id=config.store_id,
        time_zone=config.time_zone,
        occlusion=OcclusionRule(max_gap_s=4.0, max_jump=0.08, max_speed=0.25),
        links=tuple(links),
    )


def _hex(rng: np.random.Generator, count: int, nbytes: int) -> npt.NDArray[np.bytes_]:
    """`count` random ids of `nbytes` bytes, as lowercase hex in fixed-width byte strings."""
    raw = rng.integers(0, 256, size=count * nbytes, dtype=np.uint8).tobytes()
    return np.frombuffer(binascii.hexlify(raw), dtype=f"S{2 * nbytes}")


def _side_point(rng: np.random.Generator, side: int) -> tuple[float, float]:
    if side == FRONT:
        return float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.86, 0.96))
    x = rng.uniform(0.05, 0.3) if side == LEFT else rng.uniform(0.7, 0.95)
    return float(x), float(rng.uniform(0.38, 0.5))


def _arrivals(rng: np.random.Generator, config: StoreDayConfig) -> npt.NDArray[np.float64]:
    """Arrival instants (UTC epoch seconds) over the opening hours, following the hourly profile."""
    hours = config.close_hour - config.open_hour
    profile = np.resize(_HOURLY_PROFILE, hours)
    hour = rng.choice(hours, size=config.visitors, p=profile / profile.sum())
    zone = ZoneInfo(config.time_zone)
    opening = datetime(config.day.year, config.day.month, config.day.day, config.open_hour, tzinfo=zone)
    # Leave the last half hour for walking: nobody arrives just before closing.
    offsets = (hour + rng.uniform(0.0, 1.0, config.visitors)) * 3600.0 * (hours - 0.5) / hours
    return np.sort(opening.timestamp() + offsets)


def generate(config: StoreDayConfig = StoreDayConfig()) -> StoreDay:
    """Draw the whole day. Deterministic for a given config (seed included)."""
    rng = np.random.default_rng(config.seed)
    arrivals = _arrivals(rng, config)
    person_group = rng.integers(0, config.groups, size=config.visitors)
    person_gender = rng.choice(3, size=config.visitors, p=[0.48, 0.44, 0.08])
    person_age = rng.choice(5, size=config.visitors, p=[0.1, 0.35, 0.3, 0.2, 0.05])

    # Camera visits, one row each: person, camera, start, duration, entry and exit points, group.
    v_person: list[int] = []
    v_camera: list[int] = []
    v_start: list[float] = []
    v_dur: list[float] = []
    v_p0: list[tuple[float, float]] = []
    v_p1: list[tuple[float, float]] = []
    v_group: list[int] = []
    v_door: list[int] = []  # +1: crosses the door inwards at its start, -1: outwards at its end
    for person in range(config.visitors):
        t = float(arrivals[person])
        camera, previous = ENTRANCE, OUTSIDE
        for step in range(10):
            choices, weights = NEXT[camera]
            following = int(rng.choice(choices, p=weights)) if step < 8 else ENTRANCE
            if camera == ENTRANCE and step > 0:
                following = OUTSIDE
            if camera != ENTRANCE and following == ENTRANCE and step < 2:
                following = int(rng.choice([c for c in choices if c != ENTRANCE]))
            duration = float(MEDIAN_STAY_S[camera] * rng.lognormal(0.0, 0.45))
            duration = max(duration, 4.0)
            visit_group = int(person_group[person])
            if rng.random() < config.camera_drift:
                visit_group = int(rng.integers(0, config.groups))
            v_person.append(person)
            v_camera.append(camera)
            v_start.append(t)
            v_dur.append(duration)
            v_p0.append(_side_point(rng, EXIT_SIDE.get((camera, previous), FRONT)))
            v_p1.append(_side_point(rng, EXIT_SIDE[(camera, following)]))
            v_group.append(visit_group)
            v_door.append(1 if previous == OUTSIDE else -1 if following == OUTSIDE else 0)
            if following == OUTSIDE:
                break
            lo, hi = TRANSIT[frozenset((camera, following))]
            if rng.random() < config.lingering:
                transit = float(rng.uniform(hi + 30.0, hi + 300.0))
            else:
                transit = float(rng.uniform(lo + 0.5, hi - 0.5))
            t += duration + transit
            camera, previous = following, camera

    visits = len(v_person)
    vis_start = np.array(v_start)
    vis_dur = np.array(v_dur)
    vis_p0 = np.array(v_p0)
    vis_p1 = np.array(v_p1)

    # Occlusion breaks: each visit becomes one or more fragments with short gaps between them.
    f_visit: list[int] = []
    f_start: list[float] = []
    f_end: list[float] = []
    breaks = rng.poisson(config.occlusions_per_minute * vis_dur / 60.0)
    for visit in range(visits):
        start, end = vis_start[visit], vis_start[visit] + vis_dur[visit]
        cuts = np.sort(rng.uniform(start + 2.0, end - 2.0, size=breaks[visit] if vis_dur[visit] > 6 else 0))
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
    frag_visit = np.array(f_visit)
    frag_start = np.array(f_start)
    frag_end = np.array(f_end)
    fragments = len(f_visit)
    track_ids = _hex(rng, fragments, 8)

    # Entries: one every 1/fps seconds along each fragment.
    per_frag = np.floor((frag_end - frag_start) * config.fps).astype(np.int64) + 1
    n = int(per_frag.sum())
    frag_of = np.repeat(np.arange(fragments), per_frag)
    first_row = np.concatenate(([0], np.cumsum(per_frag)[:-1]))
    step = np.arange(n) - np.repeat(first_row, per_frag)
    t = frag_start[frag_of] + step / config.fps + rng.uniform(0.0, 0.2 / config.fps, n)
    visit_of = frag_visit[frag_of]
    u = np.clip((t - vis_start[visit_of]) / vis_dur[visit_of], 0.0, 1.0)
    wander_amp = rng.uniform(-0.12, 0.12, size=(visits, 2))
    wander_k = rng.integers(1, 3, size=visits)
    wave = np.sin(np.pi * wander_k[visit_of] * u)[:, None]
    foot = vis_p0[visit_of] + (vis_p1[visit_of] - vis_p0[visit_of]) * u[:, None] + wander_amp[visit_of] * wave
    foot = np.clip(foot + rng.normal(0.0, 0.003, size=(n, 2)), 0.02, 0.98).round(4)
    fx, fy = foot[:, 0], foot[:, 1]

    camera_of = np.array(v_camera)[visit_of]
    person_of = np.array(v_person)[visit_of]
    side = np.where(fy >= 0.65, FRONT, np.where(fx < 0.5, LEFT, RIGHT))
    zone_index = camera_of * 3 + side
    group = np.array(v_group)[visit_of]
    flick = rng.random(n) < config.flicker
    group = np.where(flick, rng.integers(0, config.groups, n), group)

    # Door crossings: inwards on the second entry of the arrival visit, outwards on the last exit entry.
    door = np.array(v_door)
    crossing = np.zeros(n, dtype=np.int8)
    visit_first_frag = np.full(visits, fragments)
    np.minimum.at(visit_first_frag, frag_visit, np.arange(fragments))
    visit_last_frag = np.full(visits, -1)
    np.maximum.at(visit_last_frag, frag_visit, np.arange(fragments))
    inward = np.flatnonzero(door == 1)
    crossing[np.minimum(first_row[visit_first_frag[inward]] + 1, n - 1)] = 1
    outward = np.flatnonzero(door == -1)
    crossing[first_row[visit_last_frag[outward]] + per_frag[visit_last_frag[outward]] - 1] = -1

    height = 0.18 + 0.4 * fy
    width = 0.38 * height
    x_min = np.clip(fx - width / 2, 0.0, 1.0).round(4)
    x_max = np.clip(fx + width / 2, 0.0, 1.0).round(4)
    y_min = np.clip(fy - height, 0.0, 1.0).round(4)
    y_max = np.clip(fy + 0.01, 0.0, 1.0).round(4)
    dy = vis_p1[visit_of, 1] - vis_p0[visit_of, 1]
    orientation = np.where(dy > 0.05, 0, np.where(dy < -0.05, 1, 2))  # towards the camera: front
    gender = person_gender[person_of]
    p_male = np.array([0.2, 0.8, 0.5])[gender] + rng.normal(0, 0.05, n)
    anchors = np.array([(ax, ay) for _, ax, ay in BODY_POINTS])
    keypoints = np.empty((n, len(BODY_POINTS), 3))
    keypoints[:, :, 0] = x_min[:, None] + anchors[None, :, 0] * (x_max - x_min)[:, None]
    keypoints[:, :, 1] = y_min[:, None] + anchors[None, :, 1] * (y_max - y_min)[:, None]
    keypoints[:, :, :2] += rng.normal(0, 0.002, size=(n, len(BODY_POINTS), 2))
    keypoints[:, :, :2] = np.clip(keypoints[:, :, :2], 0.0, 1.0).round(4)
    keypoints[:, :, 2] = rng.uniform(0.55, 0.99, size=(n, len(BODY_POINTS))).round(3)

    columns: dict[str, npt.NDArray[Any]] = {
        "entry_id": _hex(rng, n, 16),
        "camera": camera_of,
        "track": frag_of,
        "event_time_ms": np.round(t * 1000).astype(np.int64),
        "x_min": x_min,
        "y_min": y_min,
        "x_max": x_max,
        "y_max": y_max,
        "foot_x": fx,
        "foot_y": fy,
        "keypoints": keypoints,
        "orientation": orientation,
        "gender": gender,
        "age_band": person_age[person_of],
        "p_male": np.clip(p_male, 0.0, 1.0).round(3),
        "group": group.astype(np.int64),
        "zone": zone_index,
        "crossing": crossing,
    }

    # At-least-once delivery: some entries arrive twice, a little later.
    repeats = np.flatnonzero(rng.random(n) < config.duplicates)
    rows = np.concatenate((np.arange(n), repeats))
    delivered = np.concatenate((t, t[repeats] + rng.uniform(1.0, 600.0, len(repeats))))
    hour = (np.floor(t[rows] / 3600.0)).astype(np.int64)
    file_key = hour * len(CAMERAS) + camera_of[rows]
    order = np.lexsort((delivered, file_key))
    delivery = rows[order]
    return StoreDay(
        config=config,
        columns={name: values[delivery] for name, values in columns.items()},
        file_keys=file_key[order],
        repeats=(np.arange(len(rows)) >= n)[order],
        track_ids=track_ids,
        track_camera=np.array(v_camera)[frag_visit],
        track_person=np.array(v_person)[frag_visit],
    )


def fragments_of(day: StoreDay) -> tuple[list[Fragment], dict[FragmentKey, int]]:
    """Fragment summaries as the job would build them (after dedupe), and the true person of each."""
    keep = ~day.repeats
    c = {
        name: day.columns[name][keep]
        for name in ("track", "event_time_ms", "foot_x", "foot_y", "group", "zone")
    }
    order = np.lexsort((c["event_time_ms"], c["track"]))
    track, t_ms = c["track"][order], c["event_time_ms"][order]
    fx, fy, group, zone = c["foot_x"][order], c["foot_y"][order], c["group"][order], c["zone"][order]
    bounds = np.flatnonzero(np.r_[True, track[1:] != track[:-1], True])
    names = zone_names()
    fragments: list[Fragment] = []
    person_of: dict[FragmentKey, int] = {}
    for a, b in itertools.pairwise(bounds):
        i = int(track[a])
        values, counts = np.unique(group[a:b], return_counts=True)
        f = Fragment(
            store_id=day.config.store_id,
            camera_id=CAMERAS[int(day.track_camera[i])],
            track_id=day.track_ids[i].decode(),
            start_ms=int(t_ms[a]),
            end_ms=int(t_ms[b - 1]),
            first_x=float(fx[a]),
            first_y=float(fy[a]),
            last_x=float(fx[b - 1]),
            last_y=float(fy[b - 1]),
            group=int(values[np.argmax(counts)]),
            observations=int(b - a),
            first_zones=(names[int(zone[a])],),
            last_zones=(names[int(zone[b - 1])],),
        )
        fragments.append(f)
        person_of[f.key] = int(day.track_person[i])
    return fragments, person_of


def write(day: StoreDay, out: Path) -> dict[str, Any]:
    """Write entry files, stores.yaml and truth.json under `out`; returns the truth summary."""
    rng = np.random.default_rng(day.config.seed + 1)
    out.mkdir(parents=True, exist_ok=True)
    keys, starts = np.unique(day.file_keys, return_index=True)
    ends = np.r_[starts[1:], len(day.file_keys)]
    paths: list[Path] = []
    for key, a, b in zip(keys, starts, ends, strict=True):
        hour, camera = divmod(int(key), len(CAMERAS))
        at = datetime.fromtimestamp(hour * 3600, tz=ZoneInfo("UTC"))
        path = (
            out / "entries" / at.strftime("%Y/%m/%d/%H") / f"{day.config.store_id}-{CAMERAS[camera]}.ndjson"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(day.render(int(a), int(b)))
        paths.append(path)

    bad = _bad_lines(day, rng)
    for line in bad:
        with paths[int(rng.integers(0, len(paths)))].open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    store = day.store()
    (out / "stores.yaml").write_text(
        yaml.safe_dump({"stores": [store.model_dump(mode="json")]}, sort_keys=False), encoding="utf-8"
    )
    truth = {
        "store_id": day.config.store_id,
        "seed": day.config.seed,
        "persons": int(day.track_person.max()) + 1 if len(day.track_person) else 0,
        "tracks": len(day.track_ids),
        "unique_entries": day.unique_entries,
        "duplicate_entries": day.rows - day.unique_entries,
        "bad_lines": len(bad),
        "files": len(paths),
        "track_person": {
            tid.decode(): int(p) for tid, p in zip(day.track_ids, day.track_person, strict=True)
        },
    }
    (out / "truth.json").write_text(json.dumps(truth), encoding="utf-8")
    return {k: v for k, v in truth.items() if k != "track_person"}


def _bad_lines(day: StoreDay, rng: np.random.Generator) -> list[str]:
    """Lines the job must reject with a reason, drawn from real entries so they look like the rest."""
    count = day.config.bad_lines
    if count == 0:
        return []
    picks = rng.integers(0, day.rows, size=count)
    samples = [json.loads(day.render(int(i), int(i) + 1)) for i in picks]
    lines = []
    for i, entry in enumerate(samples):
        kind = i % 6
        if kind == 0:
            text = json.dumps(entry)
            lines.append(text[: int(rng.integers(10, len(text) - 10))])
            continue
        if kind == 1:
            entry["keypoints"]["nose"] = {"x": 0.5, "y": 0.1, "score": 0.9}
        elif kind == 2:
            del entry["camera_id"]
        elif kind == 3:
            entry["appearance_group"] = entry["appearance_groups"]
        elif kind == 4:
            entry["event_time_ms"] = 12_345
        else:
            lines.append("\x00\x01 not an entry")
            continue
        lines.append(json.dumps(entry))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    defaults = StoreDayConfig()
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="directory to write into")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--visitors", type=int, default=defaults.visitors)
    parser.add_argument("--day", type=date.fromisoformat, default=defaults.day, help="local date, YYYY-MM-DD")
    parser.add_argument("--time-zone", default=defaults.time_zone)
    args = parser.parse_args(argv)
    config = StoreDayConfig(seed=args.seed, visitors=args.visitors, day=args.day, time_zone=args.time_zone)
    started = time.perf_counter()
    day = generate(config)
    generated = time.perf_counter()
    summary = write(day, args.out)
    done = time.perf_counter()
    print(json.dumps(summary))
    print(
        f"generated {day.rows:,} lines in {generated - started:.1f} s, "
        f"wrote {summary['files']} files in {done - generated:.1f} s "
        f"({day.rows / (done - started):,.0f} lines/s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
