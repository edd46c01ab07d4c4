"""The generator's knobs and the generated day: flat numpy columns plus the truth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from anonflow.dataflow.stores import StoreConfig
from bench.storeday.layout import store_config
from bench.storeday.render import render_rows


@dataclass(frozen=True, slots=True)
class StoreDayConfig:
    """Knobs of the synthetic day; the defaults give about a million entries.

    visitors: every person of the day, `staff` of them working shifts (walks.py draws how people move).
    """

    seed: int = 1
    day: date = date(2024, 5, 14)
    store_id: str = "store-001"
    time_zone: str = "Europe/Berlin"
    open_hour: int = 8
    close_hour: int = 20
    visitors: int = 2600
    staff: int = 6
    fps: float = 2.0
    groups: int = 512
    duplicates: float = 0.01
    bad_lines: int = 300


DEFAULT_CONFIG: Final = StoreDayConfig()


@dataclass(frozen=True, slots=True)
class StoreDay:
    """The generated day as flat numpy columns in delivery order, plus the truth.

    columns: one array per field, rows grouped by output file (file_keys) and in delivery order within
    a file; `repeats` marks second copies of an entry. Categorical fields hold indices into CAMERAS,
    GENDERS, AGE_BANDS, ORIENTATIONS and zone_names() (bench/storeday/layout.py); `keypoints` is float
    [N, 12, 3] (x, y, score).
    track_*: one row per track: its id (16 hex digits), camera index and person index.
    person_*: one row per person: the party they came with, and whether they work there.
    """

    config: StoreDayConfig
    columns: dict[str, npt.NDArray[Any]]
    file_keys: npt.NDArray[np.int64]
    repeats: npt.NDArray[np.bool_]
    track_ids: npt.NDArray[np.bytes_]
    track_camera: npt.NDArray[np.int64]
    track_person: npt.NDArray[np.int64]
    person_party: npt.NDArray[np.int64]
    person_staff: npt.NDArray[np.bool_]

    @property
    def rows(self) -> int:
        return len(self.file_keys)

    @property
    def unique_entries(self) -> int:
        return int((~self.repeats).sum())

    def store(self) -> StoreConfig:
        return store_config(self.config.store_id, self.config.time_zone)

    def render(self, start: int, stop: int) -> bytes:
        """Rows [start, stop) as NDJSON lines in the entry contract's field order."""
        rows = {name: values[start:stop] for name, values in self.columns.items()}
        return render_rows(rows, self.track_ids, self.config.store_id, self.config.groups)
