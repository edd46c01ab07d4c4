"""The attacker suite: an analyst with SQL-level access to the published tables tries to recover hidden
people from small constructed days, against the real aggregations and the real release.

Every attack runs twice: against `naive_release` (the positive control: a k-threshold on journeys that
keeps a suppressed row's key and publishes exact values, the way the tables were first released) where
it must succeed, and against `release` where it must fail. Attacks on perturbed counts are a
distinguishing game: two neighbouring days, one with the target shopper and one without; the analyst
guesses from the published tables which day it was, over many cell-key secrets. Against the naive
release the guess is always right; against the release it must be little better than a coin flip
(the bound each test states).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from anonflow.contract.tables import DEMOGRAPHICS, DWELL, FLOWS, FOOTFALL, HEATMAP, Table
from anonflow.dataflow.aggregate.base import CONTRIBUTORS, Row, TableRows
from anonflow.dataflow.aggregate.demographics import demographics_rows
from anonflow.dataflow.aggregate.dwell import dwell_rows
from anonflow.dataflow.aggregate.flows import flows_rows
from anonflow.dataflow.aggregate.footfall import footfall_rows
from anonflow.dataflow.aggregate.heatmap import heatmap_rows
from anonflow.dataflow.journeys import StoreDay
from anonflow.dataflow.partitions import PublicVocabulary, unpublished
from anonflow.dataflow.release import release
from anonflow.dataflow.support import contributors
from tests.dataflow.builders import obs, store_day, walk

K = 3
SECRETS = [i.to_bytes(2, "big") * 8 for i in range(400)]
Published = dict[str, list[Row]]


# --- the two releases ------------------------------------------------------------------------------


def naive_release(rows: Iterable[Row], table: Table, k: int) -> list[Row]:
    """The positive control: journeys counted, suppressed rows keep their keys, released values exact."""
    values = [c.name for c in table.columns if c.nullable]
    out = []
    for row in rows:
        public = {name: row.get(name) for name in table.column_names}
        if row["visitors"] < k:
            out.append({**public, **dict.fromkeys(values), "suppressed": True})
        else:
            out.append({**public, "suppressed": False})
    return out


TABLES: dict[str, tuple[Table, Callable[[StoreDay], list[Row]]]] = {
    "footfall": (FOOTFALL, footfall_rows),
    "dwell": (DWELL, dwell_rows),
    "demographics": (DEMOGRAPHICS, demographics_rows),
    "flows": (FLOWS, flows_rows),
    "heatmap": (HEATMAP, heatmap_rows),
}


def publish(day: StoreDay, secret: bytes | None, k: int = K) -> Published:
    """Every table of the day as an analyst reads it: naive (secret None) or the real release."""
    who = contributors(day.journeys)
    published: Published = {}
    for name, (table, rows_of) in TABLES.items():
        rows = rows_of(day)
        if secret is None:
            published[name] = naive_release(rows, table, k)
            continue
        batch = TableRows(name, day.store_id, day.date, 0, tuple(rows), who)
        released, _ = release(batch, table, secret, k=k, dwell_min_support=10, dwell_round_s=30.0)
        published[name] = list(released.rows)
    return published


def shopper(
    n: int, start_s: float, *, zone: str, seconds: float = 200.0, gender: str = "female", age: str = "adult"
) -> list[list[Any]]:
    """One journey of one person (own appearance group n) walking in `zone` from start_s. Shoppers of a
    constructed day overlap in time, so support counts each of them (see `anonflow.dataflow.support`)."""
    track = walk(
        "cam", f"p{n}", start_s, start_s + seconds, 0.2, 0.8, zone=zone, group=n, gender=gender, age_group=age
    )
    return [track]


def accuracy(guess: Callable[[Published], bool], with_target: StoreDay, without: StoreDay) -> float:
    """How often the analyst tells the day with the target from the day without, over many secrets."""
    right = sum(guess(publish(with_target, s)) + (not guess(publish(without, s))) for s in SECRETS)
    return right / (2 * len(SECRETS))


def rows(published: Published, table: str, **where: Any) -> list[Row]:
    return [r for r in published[table] if all(r.get(c) == v for c, v in where.items())]


def value(published: Published, table: str, column: str = "visitors", **where: Any) -> int:
    """The published value of the one matching row; 0 when no such row (or it is suppressed)."""
    found = rows(published, table, **where)
    assert len(found) <= 1, found
    return (found[0][column] or 0) if found else 0


# --- the constructed days --------------------------------------------------------------------------

FITTING = 10 * 3600.0  # 10:00:00 UTC on the builders' day


def fitting_room(with_man: bool) -> StoreDay:
    """Four adult women in the fitting room at 10:00; with_man: a senior man there too, at the same time."""
    people = [shopper(i, FITTING + 5 * i, zone="fitting") for i in range(4)]
    if with_man:
        people.append(shopper(9, FITTING + 2, zone="fitting", gender="male", age="senior"))
    return store_day(people)


def test_differencing_rows_recovers_the_lone_man_only_from_the_naive_release() -> None:
    where = {"zone_id": "fitting", "granularity": "5m"}

    def guess(published: Published) -> bool:
        # Footfall visitors minus the released demographic rows of the same zone and window.
        demographics = sum(r["visitors"] or 0 for r in rows(published, "demographics", **where))
        return value(published, "footfall", **where) - demographics >= 1

    naive = publish(fitting_room(True), None)
    assert guess(naive) and not guess(publish(fitting_room(False), None))
    # Not vacuous: the rows the analyst subtracts are published.
    protected = publish(fitting_room(True), SECRETS[0])
    assert rows(protected, "footfall", **where) and rows(protected, "demographics", **where)
    assert accuracy(guess, fitting_room(True), fitting_room(False)) <= 0.65  # measured 0.52


def test_no_suppressed_key_is_published() -> None:
    man = {"gender": "male", "age_group": "senior"}
    assert rows(publish(fitting_room(True), None), "demographics", **man)  # naive: "such a man was there"
    for secret in SECRETS[:20]:
        assert not rows(publish(fitting_room(True), secret), "demographics", **man)


def test_suppressed_flow_and_heatmap_keys_are_not_published() -> None:
    # Three shoppers stay in the fitting room; one alone walks on to the till; a lone person stands in
    # the camera's far corner, the only one in that heat-map cell.
    people = [shopper(i, FITTING + 5 * i, zone="fitting") for i in range(3)]
    mover = shopper(7, FITTING, zone="fitting")[0] + shopper(7, FITTING + 230, zone="till")[0]
    corner = [obs("cam", "corner", FITTING + i / 2, 0.99, 0.99, group=8) for i in range(41)]
    day = store_day([*people, [mover], [corner]])
    naive = publish(day, None)
    assert rows(naive, "flows", from_zone="fitting", to_zone="till")
    assert rows(naive, "heatmap", cell_x=3, cell_y=3)  # the builders' grid is 4 x 4
    protected = publish(day, SECRETS[0])
    assert not rows(protected, "flows")
    assert protected["heatmap"] and not rows(protected, "heatmap", cell_x=3, cell_y=3)


def till_day(lone_at_15: bool) -> StoreDay:
    """Three shoppers at the till in each of 09, 10, 11 and 16 h; lone_at_15: one more alone at 15:00."""
    people = [
        shopper(10 * hour + i, hour * 3600.0 + 60 * i, zone="till")
        for hour in (9, 10, 11, 16)
        for i in range(3)
    ]
    if lone_at_15:
        people.append(shopper(999, 15 * 3600.0 + 120, zone="till"))
    return store_day(people)


def test_differencing_granularities_recovers_the_lone_till_shopper_only_from_the_naive_release() -> None:
    def guess(published: Published) -> bool:
        day = value(published, "footfall", zone_id="till", granularity="1d")
        hours = sum(r["visitors"] or 0 for r in rows(published, "footfall", zone_id="till", granularity="1h"))
        return day - hours >= 1

    assert guess(publish(till_day(True), None)) and not guess(publish(till_day(False), None))
    protected = publish(till_day(True), SECRETS[0])
    assert len(rows(protected, "footfall", zone_id="till", granularity="1h")) == 4
    assert rows(protected, "footfall", zone_id="till", granularity="1d")
    assert accuracy(guess, till_day(True), till_day(False)) <= 0.65  # measured 0.59


def test_heatmap_observations_cannot_be_differenced() -> None:
    day = till_day(True)

    def hidden_observations(published: Published) -> int | None:
        cells = [r for r in published["heatmap"] if r["observations"] is not None]
        if not cells:
            return None
        daily = sum(r["observations"] for r in cells if r["granularity"] == "1d")
        return daily - sum(r["observations"] for r in cells if r["granularity"] == "1h")

    assert hidden_observations(publish(day, None)) == 401  # the lone shopper's 200 s at 2 Hz
    assert hidden_observations(publish(day, SECRETS[0])) is None


def test_small_group_dwell_cannot_be_inverted() -> None:
    stays = (30.0, 75.0, 200.0)
    day = store_day([shopper(i, FITTING + 3 * i, zone="fitting", seconds=s) for i, s in enumerate(stays)])

    def invert(published: Published) -> tuple[float, ...] | None:
        row = rows(published, "dwell", zone_id="fitting", granularity="1h")
        if not row or row[0]["dwell_mean_s"] is None:
            return None
        p50, p90, mean = row[0]["dwell_p50_s"], row[0]["dwell_p90_s"], row[0]["dwell_mean_s"]
        top = p50 + (p90 - p50) / 0.8  # p90 of three sorted values: v2 + 0.8 (v3 - v2)
        return (3 * mean - p50 - top, p50, top)

    assert invert(publish(day, None)) == pytest.approx(stays)
    assert invert(publish(day, SECRETS[0])) is None


def test_fragments_of_one_person_do_not_make_k() -> None:
    # One woman whose track was lost twice: three journeys, one appearance group, one after another.
    woman = [
        walk("cam", f"w{i}", FITTING + 40 * i, FITTING + 40 * i + 20, 0.2, 0.8, zone="fitting", group=5)
        for i in range(3)
    ]
    day = store_day([[track] for track in woman])
    assert value(publish(day, None), "footfall", zone_id="fitting", granularity="5m") == 3
    assert not rows(publish(day, SECRETS[0]), "footfall")


def test_a_rerun_publishes_the_same_values() -> None:
    day = till_day(True)
    assert publish(day, SECRETS[1]) == publish(till_day(True), SECRETS[1])
    assert publish(day, SECRETS[1]) != publish(day, SECRETS[2])
    assert all(CONTRIBUTORS not in r for rs in publish(day, SECRETS[1]).values() for r in rs)


def test_counts_of_unpublished_cells_tell_nothing_new() -> None:
    """The report's "N cells not published" is the public grid minus the released rows; a count of the
    rows the release hid (1 to k-1 people) would give the lone till shopper at 15:00 away."""
    vocabulary = PublicVocabulary("UTC", ("till",), ("cam",), 4)

    def hidden_rows(day: StoreDay) -> int:  # the control: counts the hidden rows themselves
        return sum(1 for r in footfall_rows(day) if 0 < r["visitors"] < K)

    def not_published(day: StoreDay, secret: bytes) -> dict[str, int]:
        return unpublished(publish(day, secret)["footfall"], FOOTFALL, vocabulary, day.date)

    assert hidden_rows(till_day(True)) > hidden_rows(till_day(False))
    for secret in SECRETS[:20]:
        assert not_published(till_day(True), secret) == not_published(till_day(False), secret)
    counts = not_published(till_day(True), SECRETS[0])
    assert counts == {"5m": 288 * 2 - 2 * 4, "1h": 24 * 2 - 2 * 4, "1d": 0}
