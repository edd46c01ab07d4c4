"""The stores file's `people` block: door lines and stitching weights, bad values as one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from anonflow.contract.errors import InputError
from anonflow.dataflow.stores import PeopleRule, load_stores

# (people block in YAML flow style, expected doors or None, error fragment or None)
CASES = [
    ("{}", (), None),
    ("{doors: [door, back-door]}", ("door", "back-door"), None),
    ("{doors: [door], max_gap_s: 600, group_penalty: 0}", ("door",), None),
    ("{doors: [front door]}", None, "people.doors.0: String should match pattern"),
    ("{doors: [door], max_gap_s: 0}", None, "people.max_gap_s: Input should be greater than 0"),
    ("{doors: [door], time_scale_s: -1}", None, "people.time_scale_s: Input should be greater than 0"),
    ("{door: [door]}", None, "people.door: unknown key"),
]


@pytest.mark.parametrize(("block", "doors", "error"), CASES, ids=[c[0] for c in CASES])
def test_people_block(tmp_path: Path, block: str, doors: tuple[str, ...] | None, error: str | None) -> None:
    path = tmp_path / "stores.yaml"
    path.write_text(f"stores:\n  - {{store_id: s1, time_zone: UTC, people: {block}}}\n", encoding="utf-8")
    if error is None:
        assert load_stores(path).stores[0].people.doors == doors
        return
    with pytest.raises(InputError) as raised:
        load_stores(path)
    message = str(raised.value)
    assert "\n" not in message and error in message, message


def test_default_rule_stitches_nothing() -> None:
    assert PeopleRule().doors == ()
