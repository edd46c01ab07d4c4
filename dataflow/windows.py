"""Five-minute, hour and day windows cut in each store's local time, correct across DST changes.

The rule, for an event at UTC instant t in zone Z:

- **1d**: from the first instant whose local date in Z is t's local date, to the first instant of the next
  local date. Days are 23 h or 25 h long when the clocks change, and a day whose midnight does not exist
  (the clocks jump from 23:59 to 01:00) starts at the jump.
- **1h / 5m**: the local wall clock at t floored to the whole hour / five minutes, read with t's UTC offset.
  If the offset changes inside that span, the window is clipped at the change, so windows never overlap
  and always tile time. In Europe/Berlin the autumn hour "02:00" therefore occurs twice (two windows,
  one hour apart in UTC) and the spring day has no "02:00" window at all. For zones with half-hour
  offsets (Asia/Kolkata) the hours start at :30 UTC.

Windows are half-open [start, end) in UTC milliseconds. The pure functions below are what the Beam
`StoreLocalWindows` WindowFn calls per element, behind a small per-zone cache.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

from apache_beam.coders import coders
from apache_beam.transforms.window import IntervalWindow, NonMergingWindowFn
from apache_beam.utils.timestamp import Timestamp

_MINUTE_MS: Final = 60_000
_HOUR_MS: Final = 60 * _MINUTE_MS
_DAY_MS: Final = 24 * _HOUR_MS
# Cache bucket width: windows are looked up by the 5-minute UTC bucket of the event, then checked.
_BUCKET_MS: Final = 5 * _MINUTE_MS
_CACHE_LIMIT: Final = 200_000


class Granularity(StrEnum):
    """Window length, as written in the tables' `granularity` column."""

    FIVE_MINUTES = "5m"
    HOUR = "1h"
    DAY = "1d"


_STEP_MS: Final = {Granularity.FIVE_MINUTES: 5 * _MINUTE_MS, Granularity.HOUR: _HOUR_MS}


@dataclass(frozen=True, slots=True, order=True)
class LocalWindow:
    """A window [start_ms, end_ms) in UTC milliseconds."""

    start_ms: int
    end_ms: int

    def __post_init__(self) -> None:
        if self.end_ms <= self.start_ms:
            raise ValueError(f"window end {self.end_ms} must be after its start {self.start_ms}")

    def contains(self, t_ms: int) -> bool:
        return self.start_ms <= t_ms < self.end_ms

    @property
    def hours(self) -> float:
        return (self.end_ms - self.start_ms) / _HOUR_MS


def utc_offset_ms(t_ms: int, zone: ZoneInfo) -> int:
    """The zone's UTC offset at instant t, in milliseconds (local = UTC + offset)."""
    offset = datetime.fromtimestamp(t_ms / 1000, tz=zone).utcoffset()
    assert offset is not None  # a ZoneInfo always has an offset
    return offset // timedelta(milliseconds=1)


def local_date(t_ms: int, zone: ZoneInfo) -> date:
    """The calendar date in the zone at instant t."""
    return datetime.fromtimestamp(t_ms / 1000, tz=zone).date()


def _first_instant(lo: int, hi: int, reached: Callable[[int], bool]) -> int:
    """Smallest t in (lo, hi] with reached(t), given reached(lo) is False and reached(hi) is True."""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if reached(mid):
            hi = mid
        else:
            lo = mid
    return hi


def day_start_ms(day: date, zone: ZoneInfo) -> int:
    """First UTC instant (ms) whose local date in the zone is `day` (or later, if the day was skipped)."""
    naive_midnight = datetime(day.year, day.month, day.day)
    # Midnight read with the offset zoneinfo picks (fold=0): within a few hours of the answer even when
    # midnight is skipped or repeated; the search below finds the exact first instant.
    guess = int(naive_midnight.replace(tzinfo=zone).timestamp() * 1000)

    def reached(t: int) -> bool:
        return local_date(t, zone) >= day

    lo, hi = guess - 4 * _HOUR_MS, guess + 4 * _HOUR_MS
    if reached(lo) or not reached(hi):  # offsets jump by at most a few hours; stay safe if not
        lo, hi = guess - 2 * _DAY_MS, guess + 2 * _DAY_MS
    return _first_instant(lo, hi, reached)


def _sub_day_window(t_ms: int, zone: ZoneInfo, step_ms: int) -> LocalWindow:
    offset = utc_offset_ms(t_ms, zone)
    wall = t_ms + offset
    start = wall - wall % step_ms - offset
    end = start + step_ms
    if utc_offset_ms(start, zone) != offset:
        # The offset changed between the floored wall time and t: the window starts at the change.
        start = _first_instant(start, t_ms, lambda x: utc_offset_ms(x, zone) == offset)
    if utc_offset_ms(end - 1, zone) != offset:
        # The offset changes before the next boundary: the window ends at the change.
        end = _first_instant(t_ms, end - 1, lambda x: utc_offset_ms(x, zone) != offset)
    return LocalWindow(start, end)


def window_of(t_ms: int, zone: ZoneInfo, granularity: Granularity) -> LocalWindow:
    """The window of the given granularity containing instant t (UTC ms) in the zone's local time."""
    if granularity is Granularity.DAY:
        day = local_date(t_ms, zone)
        return LocalWindow(day_start_ms(day, zone), day_start_ms(day + timedelta(days=1), zone))
    return _sub_day_window(t_ms, zone, _STEP_MS[granularity])


class ZoneWindows:
    """`window_of` for one zone and granularity, cached: a store-day needs a few hundred distinct windows.

    Windows tile time, so a cached window that contains t is t's window; a miss just recomputes.
    """

    def __init__(self, zone_name: str, granularity: Granularity) -> None:
        self.zone = ZoneInfo(zone_name)
        self.granularity = Granularity(granularity)
        self._cache: dict[int, LocalWindow] = {}

    def __call__(self, t_ms: int) -> LocalWindow:
        bucket = t_ms // _BUCKET_MS
        cached = self._cache.get(bucket)
        if cached is not None and cached.contains(t_ms):
            return cached
        window = window_of(t_ms, self.zone, self.granularity)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[bucket] = window
        return window


def overlapping(windows: ZoneWindows, start_ms: int, end_ms: int) -> Iterator[LocalWindow]:
    """Every window of `windows` that holds an instant of [start_ms, end_ms] (both inclusive), in order."""
    window = windows(start_ms)
    while True:
        yield window
        if window.end_ms > end_ms:
            return
        window = windows(window.end_ms)


def _default_store_of(element: Any) -> str:
    """Store id of an element: an object with `store_id`, a mapping with "store_id", or (store_id, ...)."""
    store = getattr(element, "store_id", None)
    if store is None and isinstance(element, Mapping):
        store = element.get("store_id")
    if store is None and isinstance(element, tuple) and element and isinstance(element[0], str):
        store = element[0]
    if not isinstance(store, str):
        raise TypeError(f"cannot find a store_id on a {type(element).__name__}; pass store_of=")
    return store


class StoreLocalWindows(NonMergingWindowFn):
    """Assigns each element to the 5m / 1h / 1d window of its event time in its store's time zone.

    time_zones: store_id -> IANA zone name (`StoresConfig.time_zones()`).
    default_zone: the zone of stores missing from the map. Without one, a missing store is a wiring error
    (unknown stores go to the dead-letter output before windowing) and raises KeyError naming the store.
    store_of: how to read the store id from an element; by default its `store_id` attribute or key, or
    the first item of a (store_id, ...) tuple.
    """

    def __init__(
        self,
        granularity: Granularity | str,
        time_zones: Mapping[str, str],
        store_of: Callable[[Any], str] = _default_store_of,
        default_zone: str | None = None,
    ) -> None:
        self.granularity = Granularity(granularity)
        self._time_zones = dict(time_zones)
        self._default_zone = default_zone
        for name in {*self._time_zones.values(), *([default_zone] if default_zone else [])}:
            ZoneInfo(name)  # fail at construction, not on the first element
        self._store_of = store_of
        self._by_zone: dict[str, ZoneWindows] = {}
        self._beam_windows: dict[LocalWindow, tuple[IntervalWindow]] = {}

    def __getstate__(self) -> dict[str, Any]:
        # The caches hold ZoneInfo objects; rebuild them on the worker rather than ship them.
        state = dict(self.__dict__)
        state["_by_zone"] = {}
        state["_beam_windows"] = {}
        return state

    def zone_name(self, store_id: str) -> str:
        zone_name = self._time_zones.get(store_id, self._default_zone)
        if zone_name is None:
            raise KeyError(f"store {store_id!r} has no configured time zone")
        return zone_name

    def window_for(self, store_id: str, t_ms: int) -> LocalWindow:
        zone_name = self.zone_name(store_id)
        windows = self._by_zone.get(zone_name)
        if windows is None:
            windows = self._by_zone[zone_name] = ZoneWindows(zone_name, self.granularity)
        return windows(t_ms)

    def assign(self, context: Any) -> tuple[IntervalWindow]:
        t_ms = Timestamp.of(context.timestamp).micros // 1000
        window = self.window_for(self._store_of(context.element), t_ms)
        beam_windows = self._beam_windows.get(window)
        if beam_windows is None:
            if len(self._beam_windows) >= _CACHE_LIMIT:
                self._beam_windows.clear()
            beam_windows = self._beam_windows[window] = (
                IntervalWindow(
                    Timestamp(micros=window.start_ms * 1000), Timestamp(micros=window.end_ms * 1000)
                ),
            )
        return beam_windows

    def get_window_coder(self) -> coders.IntervalWindowCoder:
        return coders.IntervalWindowCoder()

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, StoreLocalWindows)
            and self.granularity == other.granularity
            and self._time_zones == other._time_zones
            and self._default_zone == other._default_zone
        )

    def __hash__(self) -> int:
        return hash((self.granularity, tuple(sorted(self._time_zones.items())), self._default_zone))
