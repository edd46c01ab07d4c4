"""Event-time windows of one store-local day, the unit every table is computed over."""

from __future__ import annotations

from collections.abc import Mapping

import apache_beam as beam
from apache_beam.transforms import trigger
from apache_beam.utils.timestamp import Duration

from anonflow.dataflow.windows import Granularity, StoreLocalWindows


class WindowStoreDays(beam.PTransform):
    """Event-timestamped observations -> the same, windowed by their store's local day.

    time_zones: store_id -> IANA zone; default_zone: for stores not in the map (None: they are an error).
    allowed_lateness_s: how long after a day closes (the watermark passes its local midnight) entries of
    that day are still taken in; each such late entry fires a late pane that holds the whole day again.
    Later entries are dropped by the runner, so the setting must cover the gateways' longest spool.
    early_firing_s: in a streaming run, also fire the day so far this often (processing time), so
    today's tables fill in during the day; None fires only when the day closes.

    Panes accumulate: every pane holds the whole day so far, and its tables replace the previous pane's.
    In a batch run each store-day has one pane and nothing is late.
    """

    def __init__(
        self,
        time_zones: Mapping[str, str],
        default_zone: str | None,
        *,
        allowed_lateness_s: float,
        early_firing_s: float | None = None,
    ) -> None:
        super().__init__()
        if allowed_lateness_s < 0 or (early_firing_s is not None and early_firing_s <= 0):
            raise ValueError(
                "need allowed_lateness_s >= 0 and early_firing_s > 0, "
                f"got {allowed_lateness_s}, {early_firing_s}"
            )
        self._windows = StoreLocalWindows(Granularity.DAY, time_zones, default_zone=default_zone)
        self._lateness_s = allowed_lateness_s
        self._early_s = early_firing_s

    def expand(self, observations: beam.PCollection) -> beam.PCollection:
        # The default trigger fires when the watermark passes the day's end and again for every late
        # entry. Only triggers Beam knows to be compatible let the track summaries combine before the
        # shuffle (an AfterWatermark without early firings is not one of them), which is what keeps a
        # store-day of a million entries fast.
        when: trigger.TriggerFn = trigger.DefaultTrigger()
        if self._early_s is not None:
            when = trigger.AfterWatermark(
                early=trigger.Repeatedly(trigger.AfterProcessingTime(self._early_s)),
                late=trigger.AfterCount(1),
            )
        return observations | "Days" >> beam.WindowInto(
            self._windows,
            trigger=when,
            accumulation_mode=trigger.AccumulationMode.ACCUMULATING,
            allowed_lateness=Duration(micros=int(self._lateness_s * 1_000_000)),
        )
