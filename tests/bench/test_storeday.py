"""The synthetic store-day generator: deterministic, contract-valid, and its truth adds up."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

from pydantic import ValidationError

from anonflow.contract.entries import read_entry_json
from anonflow.contract.entry import Entry
from anonflow.contract.entry_v1 import EntryV1
from anonflow.dataflow.stores import load_stores


def test_same_seed_same_bytes_other_seed_other_bytes(storeday: ModuleType) -> None:
    config = storeday.StoreDayConfig(visitors=15, seed=9)
    first = storeday.generate(config)
    again = storeday.generate(config)
    other = storeday.generate(storeday.StoreDayConfig(visitors=15, seed=10))
    assert first.render(0, first.rows) == again.render(0, again.rows)
    assert first.render(0, 100) != other.render(0, 100)


def test_written_day_is_valid_and_counted(storeday: ModuleType, tmp_path: Path) -> None:
    config = storeday.StoreDayConfig(visitors=25, seed=4, bad_lines=30)
    summary = storeday.write(storeday.generate(config), tmp_path)

    valid: list[Entry | EntryV1] = []  # the generator writes archived v1 entries
    rejected = 0
    for path in sorted((tmp_path / "entries").rglob("*.ndjson")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                valid.append(read_entry_json(line))
            except ValidationError:
                rejected += 1
    ids = [e.entry_id for e in valid]
    assert rejected == summary["bad_lines"] == 30
    assert len(set(ids)) == summary["unique_entries"]
    assert len(ids) - len(set(ids)) == summary["duplicate_entries"] > 0

    truth = json.loads((tmp_path / "truth.json").read_text())
    assert {e.track_id for e in valid} == set(truth["track_person"])
    assert len(set(truth["track_person"].values())) == truth["persons"] == 25
    # Every visitor crosses the door inwards once and outwards once.
    crossings = [
        (c.line_id, c.direction) for e in {e.entry_id: e for e in valid}.values() for c in e.line_crossings
    ]
    assert crossings.count(("door", "in")) == crossings.count(("door", "out")) == 25
    # The store file is what the job loads.
    store = load_stores(tmp_path / "stores.yaml").stores[0]
    assert store.store_id == config.store_id and len(store.links) == 6
    assert {e.camera_id for e in valid} == {"entrance", "aisle-a", "aisle-b", "checkout"}
    # Opening hours are local: nothing before 08:00 or after 20:00 Berlin time (UTC+2 in May).
    hours = {(e.event_time_ms // 3_600_000 + 2) % 24 for e in valid}
    assert min(hours) >= 8 and max(hours) < 21


def test_default_size_is_about_a_million(storeday: ModuleType) -> None:
    # The size comes from the walks; check it by scaling a smaller day (the full day is the bench). The
    # default day's six staff add some 75 k entries of their own, which do not scale with the shoppers.
    day = storeday.generate(storeday.StoreDayConfig(visitors=260, staff=0))
    assert 80_000 <= day.unique_entries <= 120_000
