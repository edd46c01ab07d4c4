"""Observations -> one `Track` summary per camera track and store-day, combined where they are parsed."""

from __future__ import annotations

from collections.abc import Iterable

import apache_beam as beam

from anonflow.dataflow.observation import Observation
from anonflow.dataflow.tracks import Track, TrackAccumulator


class _SummariseTrack(beam.CombineFn):
    def __init__(self, grid_size: int) -> None:
        super().__init__()
        self._grid_size = grid_size

    def create_accumulator(self) -> TrackAccumulator:
        return TrackAccumulator()

    def add_input(self, acc: TrackAccumulator, o: Observation) -> TrackAccumulator:
        return acc.add(o)

    def merge_accumulators(self, accumulators: Iterable[TrackAccumulator]) -> TrackAccumulator:
        merged, *others = accumulators
        for other in others:
            merged.merge(other)
        return merged

    def extract_output(self, acc: TrackAccumulator) -> Track:
        return acc.summary(self._grid_size)


def _by_track(o: Observation) -> tuple[tuple[str, str, str], Observation]:
    return ((o.store_id, o.camera_id, o.track_id), o)


class SummariseTracks(beam.PTransform):
    """Observations (windowed) -> one `Track` per (store, camera, track id), window and pane.

    Repeated deliveries of an entry id are folded into one observation (`TrackAccumulator`); the
    combine runs partly before the shuffle, so only track summaries cross it.
    grid_size: cells per image side of the heat map.
    """

    def __init__(self, grid_size: int) -> None:
        super().__init__()
        if not 1 <= grid_size <= 256:
            raise ValueError(f"grid_size must be 1..256, got {grid_size}")
        self._grid_size = grid_size

    def expand(self, observations: beam.PCollection) -> beam.PCollection:
        return (
            observations
            | "ByTrack" >> beam.Map(_by_track)
            | "Summarise" >> beam.CombinePerKey(_SummariseTrack(self._grid_size))
            | "Tracks" >> beam.Values()
        )
