"""Properties of every table over random store-days: counts are never negative, rows are consistent with
each other, and after release no published row is backed by fewer than k people."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from anonflow.contract.tables import DEMOGRAPHICS, DWELL, FLOWS, FOOTFALL, HEATMAP
from anonflow.dataflow.aggregate.base import CONTRIBUTORS, TableRows
from anonflow.dataflow.aggregate.demographics import demographics_rows
from anonflow.dataflow.aggregate.dwell import dwell_rows
from anonflow.dataflow.aggregate.flows import flows_rows
from anonflow.dataflow.aggregate.footfall import footfall_rows
from anonflow.dataflow.aggregate.heatmap import heatmap_rows
from anonflow.dataflow.cellkey import PERTURBATION
from anonflow.dataflow.release import release, support
from anonflow.dataflow.support import contributors
from tests.dataflow.builders import obs, store_day

TABLES = (
    (FOOTFALL, footfall_rows),
    (DWELL, dwell_rows),
    (DEMOGRAPHICS, demographics_rows),
    (FLOWS, flows_rows),
    (HEATMAP, heatmap_rows),
)

observation = st.tuples(
    st.integers(0, 7200),  # seconds into the day
    st.sampled_from(["", "a", "b", "c"]),  # zone
    st.floats(0.0, 1.0),
    st.sampled_from(["female", "male", "unknown"]),
    st.sampled_from([None, ("door", "in"), ("door", "out")]),
)
track = st.lists(observation, min_size=1, max_size=8)
journeys = st.lists(st.lists(track, min_size=1, max_size=3), min_size=1, max_size=8)


def _day(spec: list[list[list[tuple[Any, ...]]]], time_zone: str) -> Any:
    return store_day(
        [
            [
                [
                    obs(f"cam{t % 2}", f"j{j}t{t}", s, x, x, zone=z, gender=g, crossing=c)
                    for s, z, x, g, c in points
                ]
                for t, points in enumerate(tracks)
            ]
            for j, tracks in enumerate(spec)
        ],
        time_zone=time_zone,
    )


@settings(max_examples=60, deadline=None)
@given(
    spec=journeys, time_zone=st.sampled_from(["UTC", "Europe/Berlin", "Asia/Kolkata"]), k=st.integers(2, 4)
)
def test_tables_are_consistent_and_protection_holds(spec: Any, time_zone: str, k: int) -> None:
    day = _day(spec, time_zone)
    everyone = len(day.journeys)
    by_table = {table.name: rows(day) for table, rows in TABLES}
    for table, _ in TABLES:
        for row in by_table[table.name]:
            assert set(row) == set(table.column_names) - {"suppressed"} | {CONTRIBUTORS}
            for column in table.columns:
                value = row.get(column.name)
                if column.type in ("int64", "double") and value is not None:
                    assert value >= 0
            assert 1 <= row["visitors"] <= everyone
            assert row["window_start"] < row["window_end"]
            assert len(row[CONTRIBUTORS]) == row.get("journeys", row["visitors"])
        who = contributors(day.journeys)
        rows = tuple(by_table[table.name])
        batch = TableRows(table.name, day.store_id, day.date, 0, rows, who)
        released, hidden = release(batch, table, b"s" * 16, k=k, dwell_min_support=k, dwell_round_s=1.0)
        enough = [row for row in rows if support(row, who) >= k]
        assert hidden == len(rows) - len(enough) and len(released.rows) == len(enough)
        largest = max(abs(offset) for offset, _ in PERTURBATION)
        for true, out in zip(enough, released.rows, strict=True):
            assert set(out) == set(table.column_names) and not out["suppressed"]
            assert out["visitors"] >= k and abs(out["visitors"] - true["visitors"]) <= largest

    footfall = {(r["zone_id"], r["granularity"], r["window_start"]): r for r in by_table["footfall"]}
    for r in footfall.values():
        assert r["entries"] <= r["visitors"] and r["exits"] <= r["visitors"]
        assert 1 <= r["peak_occupancy"] <= r["visitors"]
    labelled: dict[tuple[str, str, int], int] = defaultdict(int)
    for r in by_table["demographics"]:
        labelled[(r["zone_id"], r["granularity"], r["window_start"])] += r["visitors"]
    assert labelled == {key: r["visitors"] for key, r in footfall.items()}
    assert footfall[("*", "1d", day.start_ms)]["visitors"] == everyone
    for r in by_table["dwell"]:
        assert (
            r["dwell_p50_s"] <= r["dwell_p90_s"] <= max(r["dwell_p90_s"], r["dwell_mean_s"] * r["visitors"])
        )
    observations = sum(t.fragment.observations for j in day.journeys for t in j.tracks)
    assert sum(r["observations"] for r in by_table["heatmap"] if r["granularity"] == "1d") == observations
