"""Public partitions: every row key a table may publish for a store-day, known before any data is seen.

Differential privacy needs the set of released keys not to depend on who came: a row that appears only
when somebody was there (a zone-window of a man over 55, a move from the fitting room to the till, a
heat-map cell in a far corner) says so whatever its noisy value. So the keys come from what everyone knows
in advance: the store's zones and cameras (the stores file), the day's windows in the store's time zone,
the contract's gender and age-group vocabularies and the heat-map grid. Rows of keys outside this set
(a zone the stores file does not name) are not published, and counted.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Final
from zoneinfo import ZoneInfo

from anonflow.contract.entry import AgeGroup, Gender
from anonflow.contract.tables import DEMOGRAPHICS, DWELL, FLOWS, FOOTFALL, HEATMAP, Row, Table
from anonflow.dataflow.aggregate.base import ALL_GRANULARITIES, window_columns
from anonflow.dataflow.aggregate.heatmap import HEATMAP_GRANULARITIES
from anonflow.dataflow.journeys import STORE_ZONE
from anonflow.dataflow.stores import StoresConfig
from anonflow.dataflow.windows import Granularity, LocalWindow, ZoneWindows, overlapping

GRANULARITIES: Final[dict[str, tuple[Granularity, ...]]] = {
    FOOTFALL.name: ALL_GRANULARITIES,
    DWELL.name: ALL_GRANULARITIES,
    DEMOGRAPHICS.name: ALL_GRANULARITIES,
    FLOWS.name: ALL_GRANULARITIES,
    HEATMAP.name: HEATMAP_GRANULARITIES,
}


@dataclass(frozen=True, slots=True)
class PublicVocabulary:
    """What is public about one store: its time zone, zone ids (without '*'), camera ids, heat-map grid."""

    time_zone: str
    zones: tuple[str, ...]
    cameras: tuple[str, ...]
    grid_size: int


def key_columns(table: Table) -> tuple[str, ...]:
    """A row's public key: every column that is not a value and not the `suppressed` flag."""
    return tuple(c.name for c in table.columns if not c.nullable and c.name != "suppressed")


def day_windows(time_zone: str, day: str, granularity: Granularity) -> list[LocalWindow]:
    """The windows of one store-local date, in order."""
    zone = ZoneInfo(time_zone)
    noon = datetime.combine(date.fromisoformat(day), time(12), zone)
    whole = ZoneWindows(time_zone, Granularity.DAY)(int(noon.timestamp() * 1000))
    if granularity is Granularity.DAY:
        return [whole]
    return list(overlapping(ZoneWindows(time_zone, granularity), whole.start_ms, whole.end_ms - 1))


def _labels(table: Table, vocabulary: PublicVocabulary) -> Iterator[Row]:
    zones = (STORE_ZONE, *vocabulary.zones)
    if table.name in (FOOTFALL.name, DWELL.name):  # by name: a table is a copy after pickling
        yield from ({"zone_id": z} for z in zones)
    elif table.name == DEMOGRAPHICS.name:
        for zone, gender, age in itertools.product(zones, Gender, AgeGroup):
            yield {"zone_id": zone, "gender": gender.value, "age_group": age.value}
    elif table.name == FLOWS.name:
        for source, target in itertools.permutations(vocabulary.zones, 2):
            yield {"from_zone": source, "to_zone": target}
    elif table.name == HEATMAP.name:
        cells = range(vocabulary.grid_size)
        for camera, x, y in itertools.product(vocabulary.cameras, cells, cells):
            yield {"camera_id": camera, "grid_size": vocabulary.grid_size, "cell_x": x, "cell_y": y}
    else:
        raise ValueError(f"table {table.name} has no public partitions")


def public_keys(table: Table, vocabulary: PublicVocabulary, day: str, granularity: Granularity) -> list[Row]:
    """Every key `table` may publish for one store-local date and granularity (columns: `key_columns`)."""
    labels = list(_labels(table, vocabulary))
    return [
        {**window_columns(granularity, window), **label}
        for window in day_windows(vocabulary.time_zone, day, granularity)
        for label in labels
    ]


def unpublished(rows: Iterable[Row], table: Table, vocabulary: PublicVocabulary, day: str) -> dict[str, int]:
    """Per granularity, the cells of the public grid a release did not publish: each means "fewer than k
    people (or a noisy count <= 0), possibly none". A function of the released rows and the public
    vocabulary only, so publishing it tells an analyst nothing the release did not."""
    columns = key_columns(table)
    released = {tuple(r[c] for c in columns) for r in rows}
    counts = {}
    for granularity in GRANULARITIES[table.name]:
        keys = {tuple(k[c] for c in columns) for k in public_keys(table, vocabulary, day, granularity)}
        counts[granularity.value] = len(keys - released)
    return counts


def public_vocabularies(stores: StoresConfig | None, grid_size: int) -> dict[str, PublicVocabulary]:
    """The public vocabulary of every store that names its zones and cameras (others are left out)."""
    found: dict[str, PublicVocabulary] = {}
    for store in stores.stores if stores else ():
        linked = {c for link in store.links for c in (link.from_camera, link.to_camera)}
        cameras = tuple(sorted({*store.cameras, *linked}))
        if store.zones and cameras:
            found[store.store_id] = PublicVocabulary(store.time_zone, tuple(store.zones), cameras, grid_size)
    return found


def vocabularies(stores: StoresConfig | None, grid_size: int) -> dict[str, PublicVocabulary]:
    """Every store's public vocabulary; ValueError (one line) when a store cannot have one."""
    if stores is None:
        raise ValueError(
            "the differentially private release needs --stores naming every store's zones and cameras "
            "(its partitions must be known before the data)"
        )
    found = public_vocabularies(stores, grid_size)
    for store in stores.stores:
        if store.store_id not in found:
            raise ValueError(
                f"stores file: store {store.store_id!r} names no zones or no cameras (needed by --dp_epsilon)"
            )
    return found
