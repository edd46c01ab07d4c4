"""Entries too late for their store-day go to the dead-letter output instead of being dropped unseen.

A runner drops an element whose window has expired (the watermark passed the window's end plus the
allowed lateness) without a trace. This step, keyed by store, keeps an event-time timer at the expiry of
the store's current day; when it fires, every later entry of that day or earlier is dead-lettered with
the reason. The timer also holds the step's output watermark, so the day windows downstream cannot
expire before this step has marked the day closed: nothing reaches them that they would drop.

Only streaming runs need it: in a batch run the watermark jumps to the end once all input is read, so
nothing is late. The chain of timers advances one local day at a time and stops a day after the latest
entry seen (an idle store costs nothing); the first entry of a newer day re-arms it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from typing import Any

import apache_beam as beam
from apache_beam.coders import VarIntCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.utils.timestamp import Timestamp

from anonflow.dataflow.deadletter import DEAD_LETTER_TAG, DeadLetter
from anonflow.dataflow.observation import Observation
from anonflow.dataflow.windows import Granularity, ZoneWindows


class _CloseDays(beam.DoFn):
    CLOSED_BEFORE = ReadModifyWriteStateSpec("closed_before_ms", VarIntCoder())
    NEXT_CLOSE = ReadModifyWriteStateSpec("next_close_ms", VarIntCoder())
    LATEST = ReadModifyWriteStateSpec("latest_event_ms", VarIntCoder())
    CLOSE = TimerSpec("close", TimeDomain.WATERMARK)
    _CLOSED_BEFORE = beam.DoFn.StateParam(CLOSED_BEFORE)
    _NEXT_CLOSE = beam.DoFn.StateParam(NEXT_CLOSE)
    _LATEST = beam.DoFn.StateParam(LATEST)
    _CLOSE = beam.DoFn.TimerParam(CLOSE)

    def __init__(self, time_zones: Mapping[str, str], default_zone: str | None, lateness_ms: int) -> None:
        self._time_zones = dict(time_zones)
        self._default_zone = default_zone
        self._lateness_ms = lateness_ms
        self._days: dict[str, ZoneWindows] = {}
        self.too_late = Metrics.counter("anonflow", "entries_too_late")

    def _day(self, store_id: str, t_ms: int) -> tuple[int, int]:
        zone = self._time_zones.get(store_id, self._default_zone)
        if zone is None:
            raise KeyError(f"store {store_id!r} has no configured time zone")
        days = self._days.get(zone)
        if days is None:
            days = self._days[zone] = ZoneWindows(zone, Granularity.DAY)
        day = days(t_ms)
        return day.start_ms, day.end_ms

    def process(
        self,
        element: tuple[str, Observation],
        closed_before: Any = _CLOSED_BEFORE,
        next_close: Any = _NEXT_CLOSE,
        latest: Any = _LATEST,
        close: Any = _CLOSE,
    ) -> Iterator[object]:
        store_id, o = element
        if o.event_time_ms < (closed_before.read() or -(2**62)):
            self.too_late.inc()
            reason = (
                f"arrived after its store-day closed (allowed lateness {self._lateness_ms // 1000} s): "
                "entry kept here, not counted"
            )
            raw = json.dumps(asdict(o))
            dead = DeadLetter.of(f"late:{store_id}", reason, raw, int(time.time() * 1000), store_id)
            yield beam.pvalue.TaggedOutput(DEAD_LETTER_TAG, dead)
            return
        latest.write(max(o.event_time_ms, latest.read() or 0))
        expiry = self._day(store_id, o.event_time_ms)[1] + self._lateness_ms
        pending = next_close.read()
        if pending is None or expiry < pending:
            close.set(Timestamp(micros=expiry * 1000))
            next_close.write(expiry)
        yield o

    @on_timer(CLOSE)
    def expire(  # noqa: PLR0917 - Beam passes state and timers as positional parameters
        self,
        key: Any = beam.DoFn.KeyParam,
        fired: Any = beam.DoFn.TimestampParam,
        closed_before: Any = _CLOSED_BEFORE,
        next_close: Any = _NEXT_CLOSE,
        latest: Any = _LATEST,
        close: Any = _CLOSE,
    ) -> Iterator[object]:
        day_end = fired.micros // 1000 - self._lateness_ms
        closed_before.write(max(day_end, closed_before.read() or -(2**62)))
        following_end = self._day(key, day_end)[1]  # the day that starts where the closed one ended
        if day_end <= (latest.read() or 0) + 86_400_000:
            expiry = following_end + self._lateness_ms
            close.set(Timestamp(micros=expiry * 1000))
            next_close.write(expiry)
        else:
            next_close.clear()
        return iter(())


class DeadLetterTooLate(beam.PTransform):
    """Event-timestamped observations -> the ones still in time (main output `entries`) and dead letters
    for those whose store-day expired (output `dead_letter`), counted as entries_too_late.

    time_zones / default_zone: as for `WindowStoreDays`; allowed_lateness_s: the same setting as there.
    """

    def __init__(
        self, time_zones: Mapping[str, str], default_zone: str | None, *, allowed_lateness_s: float
    ) -> None:
        super().__init__()
        if allowed_lateness_s < 0:
            raise ValueError(f"need allowed_lateness_s >= 0, got {allowed_lateness_s}")
        self._fn = _CloseDays(time_zones, default_zone, int(allowed_lateness_s * 1000))

    def expand(self, observations: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return (
            observations
            | "ByStore" >> beam.Map(lambda o: (o.store_id, o))
            | "CloseDays" >> beam.ParDo(self._fn).with_outputs(DEAD_LETTER_TAG, main="entries")
        )
