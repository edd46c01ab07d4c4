"""Footfall: distinct visitors per store, zone and event-time window."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import apache_beam as beam
from apache_beam.transforms import window

from dataflow.observation import Observation


def _zone_visits(o: Observation) -> Iterator[tuple[tuple[str, str], tuple[str, str]]]:
    for zone in o.zones or ("all",):
        yield (o.store_id, zone), (o.camera_id, o.track_id)


class _ToRow(beam.DoFn):
    def __init__(self, granularity: str, k: int) -> None:
        self._granularity = granularity
        self._k = k

    def process(
        self, element: tuple[tuple[str, str], int], win: Any = beam.DoFn.WindowParam
    ) -> Iterator[dict[str, object]]:
        (store_id, zone_id), visitors = element
        suppressed = visitors < self._k
        yield {
            "store_id": store_id,
            "zone_id": zone_id,
            "granularity": self._granularity,
            "date": datetime.fromtimestamp(win.start.micros / 1e6, UTC).date().isoformat(),
            "window_start": int(win.start.micros // 1000),
            "window_end": int(win.end.micros // 1000),
            "visitors": None if suppressed else visitors,
            "entries": None,
            "exits": None,
            "peak_occupancy": None,
            "suppressed": suppressed,
        }


class Footfall(beam.PTransform):
    """Observations -> footfall rows for fixed windows of `window_s` seconds.

    Visitors are distinct camera tracks seen in the zone; rows backed by fewer than `k` visitors keep their
    key but carry no counts.
    """

    def __init__(self, window_s: int, granularity: str, k: int) -> None:
        super().__init__()
        self._window_s = window_s
        self._granularity = granularity
        self._k = k

    def expand(self, observations: beam.PCollection) -> beam.PCollection:
        return (
            observations
            | "EventTime" >> beam.Map(lambda o: window.TimestampedValue(o, o.event_time_ms / 1000))
            | "Window" >> beam.WindowInto(window.FixedWindows(self._window_s))
            | "ZoneVisits" >> beam.FlatMap(_zone_visits)
            | "Distinct" >> beam.Distinct()
            | "Count" >> beam.combiners.Count.PerKey()
            | "Rows" >> beam.ParDo(_ToRow(self._granularity, self._k))
            # Rows carry their window in their columns; one window lets tables of all sizes flatten together.
            | "Unwindow" >> beam.WindowInto(window.GlobalWindows())
        )
