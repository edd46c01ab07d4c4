"""The event times the job believes: a window around the processing time.

The contract allows 2000..2100, which lets one entry open a store-day decades away (a table partition,
windows, state held until that day closes). The job takes only what a gateway can have produced
lately: no older than its longest spool and lateness allow, no further ahead than clock skew.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class EventTimeWindow:
    """Accept event times in [reference - max_age_s, reference + max_ahead_s].

    reference_ms: the processing time the window is centred on (UTC ms); None means the wall clock at
    the moment each entry is checked (streaming). A batch run over an old archive passes the day it
    stands for, so re-processing last year's archive still works.
    """

    max_age_s: float
    max_ahead_s: float
    reference_ms: int | None = None

    def __post_init__(self) -> None:
        if self.max_age_s < 0 or self.max_ahead_s < 0:
            raise ValueError(f"window bounds must be >= 0, got {self.max_age_s}, {self.max_ahead_s}")

    def reject_reason(self, event_time_ms: int, now_ms: int | None = None) -> str | None:
        """None if the event time is inside the window, else the dead-letter reason."""
        reference = self.reference_ms
        if reference is None:
            reference = now_ms if now_ms is not None else int(time.time() * 1000)
        earliest = reference - int(self.max_age_s * 1000)
        latest = reference + int(self.max_ahead_s * 1000)
        if earliest <= event_time_ms <= latest:
            return None
        side = "before" if event_time_ms < earliest else "after"
        return (
            f"event_time_ms {event_time_ms} ({_iso(event_time_ms)}) is {side} the accepted window "
            f"{_iso(earliest)} .. {_iso(latest)} around processing time {_iso(reference)}"
        )
