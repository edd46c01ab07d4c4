"""Drop repeats of an entry id (gateways deliver at least once)."""

from __future__ import annotations

from collections.abc import Iterable

import apache_beam as beam
from apache_beam.metrics import Metrics

from dataflow.observation import Observation


class _KeepFirst(beam.DoFn):
    def __init__(self) -> None:
        self.duplicates = Metrics.counter("anonflow", "entries_duplicate")

    def process(self, element: tuple[str, Iterable[Observation]]) -> Iterable[Observation]:
        _, copies = element
        first, *repeats = list(copies)
        if repeats:
            self.duplicates.inc(len(repeats))
        yield first


class DedupeEntries(beam.PTransform):
    """Keep one observation per entry id (batch: over the whole input)."""

    def expand(self, observations: beam.PCollection) -> beam.PCollection:
        return (
            observations
            | "ById" >> beam.Map(lambda o: (o.entry_id, o))
            | "Group" >> beam.GroupByKey()
            | "First" >> beam.ParDo(_KeepFirst())
        )
