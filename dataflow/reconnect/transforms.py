"""Re-connection as a Beam step: the tracks of one store-day -> a `StoreDay` of journeys and people.

Tracks arrive windowed by store-local day (`WindowStoreDays`), so journeys are linked when the day's
pane fires: once in a batch run; on time, early and late in a streaming run. Panes accumulate, so a
later pane may carry a newer summary of a track already seen; the fullest summary of each track is
used. An entry id held by several tracks counts once (dataflow/shared.py). A journey that straddles
local midnight is cut in two (one per day). The journeys are then grouped into people
(dataflow/people), which the footfall headline counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import IntervalWindow
from apache_beam.utils.windowed_value import PaneInfoTiming

from anonflow.dataflow.journeys import StoreDay, journeys_of
from anonflow.dataflow.people.stitch import people_of
from anonflow.dataflow.reconnect.fragments import FragmentKey
from anonflow.dataflow.reconnect.link import reconnect
from anonflow.dataflow.shared import keep_each_entry_once
from anonflow.dataflow.stores import StoreConfig, StoresConfig, default_store
from anonflow.dataflow.tracks import Track

_TIMING = {
    PaneInfoTiming.EARLY: "early",
    PaneInfoTiming.ON_TIME: "on_time",
    PaneInfoTiming.LATE: "late",
    PaneInfoTiming.UNKNOWN: "unknown",
}


def latest_tracks(tracks: Iterable[Track]) -> list[Track]:
    """One summary per track: the one with the most observations (a later pane's, as panes accumulate)."""
    best: dict[FragmentKey, Track] = {}
    for track in tracks:
        key = track.fragment.key
        current = best.get(key)
        if current is None or (track.fragment.observations, track.received) > (
            current.fragment.observations,
            current.received,
        ):
            best[key] = track
    return sorted(best.values(), key=lambda t: t.fragment.key)


class _LinkStoreDay(beam.DoFn):
    def __init__(self, stores: StoresConfig | None) -> None:
        self._stores = stores
        self._by_id: dict[str, StoreConfig] = {}
        self.tracks = Metrics.counter("anonflow", "reconnect_tracks")
        self.occlusion_joins = Metrics.counter("anonflow", "reconnect_joins_occlusion")
        self.transit_joins = Metrics.counter("anonflow", "reconnect_joins_transit")
        self.people = Metrics.counter("anonflow", "people")
        self.unanchored = Metrics.counter("anonflow", "people_unanchored")
        self.replays = Metrics.counter("anonflow", "tracks_replayed")
        self.shared_kept = Metrics.counter("anonflow", "entries_shared_kept")

    def setup(self) -> None:
        self._by_id = self._stores.by_id() if self._stores is not None else {}

    def process(
        self,
        element: tuple[str, Iterable[Track]],
        window: Any = beam.DoFn.WindowParam,
        pane: Any = beam.DoFn.PaneInfoParam,
    ) -> Iterator[StoreDay]:
        store_id, tracks = element
        if not isinstance(window, IntervalWindow):
            raise ValueError(f"re-connection needs store-day windows (WindowStoreDays), got {window!r}")
        store = self._by_id.get(store_id) or default_store(store_id)
        once = keep_each_entry_once(latest_tracks(tracks))
        latest = list(once.tracks)
        self.replays.inc(once.replays)
        self.shared_kept.inc(once.shared_kept)
        result = reconnect([t.fragment for t in latest], store)
        self.tracks.inc(len(latest))
        for join in result.joins:
            (self.occlusion_joins if join.kind == "occlusion" else self.transit_joins).inc()
        journeys = journeys_of(latest, result.journey_of, int(store.occlusion.max_gap_s * 1000))
        people = people_of(journeys, store)
        self.people.inc(people.count)
        self.unanchored.inc(people.unanchored)
        yield StoreDay(
            store_id=store_id,
            time_zone=store.time_zone,
            start_ms=window.start.micros // 1000,
            end_ms=window.end.micros // 1000,
            pane=pane.index,
            timing=_TIMING.get(pane.timing, "unknown"),
            journeys=journeys,
            people=people,
            replayed=once.replayed_deliveries,
        )


class Reconnect(beam.PTransform):
    """Tracks (windowed by store-local day) -> one `StoreDay` per store, day and pane.

    stores: the stores file, or None: every store then gets `default_store` (UTC, default occlusion
    rule, no camera links). The decision rule is in dataflow/reconnect/README.md.
    """

    def __init__(self, stores: StoresConfig | None) -> None:
        super().__init__()
        self._stores = stores

    def expand(self, tracks: beam.PCollection) -> beam.PCollection:
        return (
            tracks
            | "ByStore" >> beam.Map(lambda t: (t.fragment.store_id, t))
            | "Group" >> beam.GroupByKey()
            | "Link" >> beam.ParDo(_LinkStoreDay(self._stores))
        )
