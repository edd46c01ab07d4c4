"""The day's truth in the job's own terms: fragment summaries and the true person of each."""

from __future__ import annotations

import itertools

import numpy as np

from anonflow.dataflow.reconnect.fragments import Fragment, FragmentKey
from bench.storeday.day import StoreDay
from bench.storeday.layout import CAMERAS, zone_names


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
