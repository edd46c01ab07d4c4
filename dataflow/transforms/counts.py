"""What each store-day pane added: entries counted, repeats dropped, entries taken in late; as Beam counters
and as `PaneCounts` elements (for logs, monitoring and tests)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

from anonflow.dataflow.journeys import StoreDay


@dataclass(frozen=True, slots=True)
class PaneCounts:
    """What one pane of a store-day added over the day's previous pane (all of it for the first pane).

    counted: distinct entries; duplicates: repeated deliveries dropped; late: entries added by a late
    pane; journeys: change in the number of journeys (negative when a late entry joins two).
    """

    store_id: str
    date: str
    pane: int
    timing: str
    counted: int
    duplicates: int
    late: int
    journeys: int


_Totals = tuple[str, int, str, int, int, int]
"""(date, pane, timing, observations, duplicates, journeys) of a store-day pane."""


def _totals(day: StoreDay) -> tuple[str, _Totals]:
    # Only these few numbers cross the shuffle the keyed state needs, not the day's journeys.
    return day.store_id, (day.date, day.pane, day.timing, day.observations, day.duplicates, len(day.journeys))


class _CountPane(beam.DoFn):
    """Panes of a day accumulate, so each pane's totals minus the previous pane's are what it added.

    State is per store and day window; the runner drops it when the window expires.
    """

    PREVIOUS = ReadModifyWriteStateSpec("previous", PickleCoder())
    _PREVIOUS_STATE = beam.DoFn.StateParam(PREVIOUS)

    def __init__(self) -> None:
        self.counted = Metrics.counter("anonflow", "entries_counted")
        self.duplicates = Metrics.counter("anonflow", "entries_duplicate")
        self.late = Metrics.counter("anonflow", "entries_late")
        self.journeys = Metrics.counter("anonflow", "journeys")
        self.store_days = Metrics.counter("anonflow", "store_day_panes")  # one per store-day in batch

    def process(self, element: tuple[str, _Totals], previous: Any = _PREVIOUS_STATE) -> Iterator[PaneCounts]:
        store_id, (date, pane, timing, *now) = element
        before = previous.read() or (0, 0, 0)
        previous.write(tuple(now))
        added, repeats, journeys = (a - b for a, b in zip(now, before, strict=True))
        late = added if timing == "late" else 0
        self.counted.inc(added)
        self.duplicates.inc(repeats)
        self.late.inc(late)  # incremented even by 0, so the counter is always reported
        self.journeys.inc(journeys)
        self.store_days.inc()
        yield PaneCounts(store_id, date, pane, timing, added, repeats, late, journeys)


class CountStoreDays(beam.PTransform):
    """StoreDays -> `PaneCounts`, with the counters entries_counted, entries_duplicate, entries_late and
    journeys (in a batch run every store-day has one pane and entries_late is 0)."""

    def expand(self, days: beam.PCollection) -> beam.PCollection:
        # Typed so the stateful step's key (the store id) gets a deterministic coder.
        totals = beam.typehints.KV[str, beam.typehints.Tuple[str, int, str, int, int, int]]
        return (
            days
            | "Totals" >> beam.Map(_totals).with_output_types(totals)
            | "Count" >> beam.ParDo(_CountPane())
        )
