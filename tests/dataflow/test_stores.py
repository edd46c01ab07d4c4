"""Store configuration: typos, impossible values and unknown zones are errors that name the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from anonflow.contract.errors import InputError
from anonflow.dataflow.stores import CameraLink, StoreConfig, StoresConfig, load_stores

LINK = {"from_camera": "a", "to_camera": "b", "min_transit_s": 2, "max_transit_s": 20}


@pytest.mark.parametrize(
    ("store", "error"),
    [
        (
            {"store_id": "s1", "time_zone": "Europe/Berlin", "timezone": "UTC"},
            "Extra inputs are not permitted",
        ),
        ({"store_id": "s1", "time_zone": "Europe/Berln"}, "unknown IANA time zone 'Europe/Berln'"),
        ({"store_id": "s 1", "time_zone": "UTC"}, "should match pattern"),
        (
            {"store_id": "s1", "time_zone": "UTC", "links": [{**LINK, "max_transit_s": 1}]},
            "must exceed min_transit_s",
        ),
        ({"store_id": "s1", "time_zone": "UTC", "links": [{**LINK, "to_camera": "a"}]}, "to itself"),
        ({"store_id": "s1", "time_zone": "UTC", "occlusion": {"max_gap_s": 0}}, "greater than 0"),
        (
            {"store_id": "s1", "time_zone": "UTC", "occlusion": {"max_gap": 3}},
            "Extra inputs are not permitted",
        ),
    ],
)
def test_store_rejects(store: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        StoreConfig.model_validate(store)


def test_duplicate_store_is_an_error() -> None:
    store = {"store_id": "s1", "time_zone": "UTC"}
    with pytest.raises(ValidationError, match="configured twice"):
        StoresConfig.model_validate({"stores": [store, store]})


def test_bidirectional_link_swaps_zones() -> None:
    link = CameraLink(
        from_camera="a",
        to_camera="b",
        from_zone="a-exit",
        to_zone="b-entry",
        min_transit_s=1,
        max_transit_s=9,
    )
    forward, reverse = link.directed()
    assert (forward.from_camera, forward.from_zone, forward.to_zone) == ("a", "a-exit", "b-entry")
    assert (reverse.from_camera, reverse.to_camera, reverse.from_zone, reverse.to_zone) == (
        "b",
        "a",
        "b-entry",
        "a-exit",
    )
    one_way = link.model_copy(update={"bidirectional": False})
    assert len(one_way.directed()) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "stores: [{store_id: s1, time_zone: Europe/Berlin, tz: x}]",
            "stores.0.tz: unknown key",
        ),
        ("stores: [{store_id: s1}]", "stores.0.time_zone: required key missing"),
        ("stores: [", "stores.yaml: not valid YAML at line 1 column 10: "),
        ("stores: []", "stores: Tuple should have at least 1 item"),
    ],
)
def test_load_stores_errors_name_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "stores.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        load_stores(path)


def test_load_stores(tmp_path: Path) -> None:
    path = tmp_path / "stores.yaml"
    path.write_text(
        "stores:\n"
        "  - store_id: berlin-1\n    time_zone: Europe/Berlin\n"
        "    links: [{from_camera: a, to_camera: b, min_transit_s: 2, max_transit_s: 30}]\n"
        "  - store_id: mumbai-1\n    time_zone: Asia/Kolkata\n"
    )
    stores = load_stores(path)
    assert stores.time_zones() == {"berlin-1": "Europe/Berlin", "mumbai-1": "Asia/Kolkata"}
    assert len(stores.by_id()["berlin-1"].directed_links()) == 2
    with pytest.raises(InputError, match="does not exist"):
        load_stores(tmp_path / "missing.yaml")
