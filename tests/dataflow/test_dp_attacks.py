"""The attacker suite against the differentially private release: the real aggregations and `dp_release`
(or `release_once` with its ledger) on small constructed days.

Each attack is a distinguishing game: two neighbouring days, with and without the target, and an analyst
who guesses from the published tables which day it was, over many noise draws. Differential privacy
bounds any guess: accuracy <= e^eps / (1 + e^eps) for the store-day's whole epsilon (k * eps for a
person split into k journeys). Each attack also runs against a naive release, the positive control, where
it must succeed: exact values with k-suppression, or "noise per count" as the job once had it (data-
dependent keys, no bound on the cells a journey touches, noise redrawn on every run).

Noise comes from `SeededLaplace` (tests/kit/laplace.py), the seeded stand-in that test_dp.py holds to
OpenDP's distribution, so every figure here is deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from anonflow.contract.tables import DEMOGRAPHICS, DWELL, FOOTFALL, Row, Table
from anonflow.dataflow.aggregate.base import CONTRIBUTORS, TableRows
from anonflow.dataflow.aggregate.demographics import demographics_rows
from anonflow.dataflow.aggregate.dwell import dwell_rows
from anonflow.dataflow.aggregate.footfall import footfall_rows
from anonflow.dataflow.dpbudget import DpBudget
from anonflow.dataflow.dpnoise import Noise
from anonflow.dataflow.dprelease import dp_release, release_once
from anonflow.dataflow.journeys import StoreDay
from anonflow.dataflow.ledger import ReleaseLedger
from anonflow.dataflow.partitions import PublicVocabulary
from anonflow.dataflow.support import contributors
from tests.dataflow.builders import store_day, walk
from tests.dataflow.test_release import FITTING, naive_release, shopper
from tests.kit.laplace import SeededLaplace

EPSILON = 0.5
"""The store-day's budget in these tests: any guess is right at most 62 % of the time."""
BUDGET = DpBudget(epsilon=EPSILON)
VOCABULARY = PublicVocabulary("UTC", ("fitting",), ("cam",), 4)
SEEDS = range(100)
SLACK = 0.06
"""Sampling slack over the bound: 200 guesses per game put one standard error near 0.035; the measured
figures lie far below the bound anyway."""
Published = dict[str, list[Row]]
TABLES: dict[str, tuple[Table, Callable[[StoreDay], list[Row]]]] = {
    "footfall": (FOOTFALL, footfall_rows),
    "dwell": (DWELL, dwell_rows),
    "demographics": (DEMOGRAPHICS, demographics_rows),
}


def bound(epsilon: float) -> float:
    """The best accuracy any guess can have against an epsilon-DP release."""
    return math.exp(epsilon) / (1 + math.exp(epsilon))


def batches(day: StoreDay, tables: tuple[str, ...]) -> dict[str, TableRows]:
    who = contributors(day.journeys)
    return {n: TableRows(n, day.store_id, day.date, 0, tuple(TABLES[n][1](day)), who) for n in tables}


def dp_publish(day: dict[str, TableRows], noise: Noise) -> Published:
    return {n: list(dp_release(b, TABLES[n][0], BUDGET, VOCABULARY, noise)[0].rows) for n, b in day.items()}


def naive_noisy(day: dict[str, TableRows], noise: Noise) -> Published:
    """The control: every observed row (keys from the data), exact values but `visitors` noised with
    epsilon per count, no bound on how many rows one journey is in, a fresh draw on every call."""
    published: Published = {}
    for name, batch in day.items():
        counts = [len(r[CONTRIBUTORS]) for r in batch.rows]
        noisy = noise(counts, 1.0 / EPSILON)
        published[name] = [
            {**{k: v for k, v in r.items() if k != CONTRIBUTORS}, "visitors": n}
            for r, n in zip(batch.rows, noisy, strict=True)
        ]
    return published


def total(published: Published, table: str, **where: Any) -> int:
    return sum(r["visitors"] or 0 for r in published[table] if all(r[c] == v for c, v in where.items()))


def best_accuracy(with_target: list[float], without: list[float]) -> float:
    """The analyst's accuracy at the best threshold on the statistic, chosen in hindsight (it flatters the
    attacker, so the bound is tested against more than any real analyst gets)."""
    cuts = sorted({*with_target, *without, math.inf})
    n = len(with_target) + len(without)
    return max((sum(v >= cut for v in with_target) + sum(v < cut for v in without)) / n for cut in cuts)


def accuracy(
    statistic: Callable[[Published], float],
    with_target: dict[str, TableRows],
    without: dict[str, TableRows],
    publish: Callable[[dict[str, TableRows], Noise], Published],
) -> float:
    """How well the statistic tells the two days apart, over `SEEDS` noise draws each."""
    return best_accuracy(
        [statistic(publish(with_target, SeededLaplace(seed))) for seed in SEEDS],
        [statistic(publish(without, SeededLaplace(seed + 10**6))) for seed in SEEDS],
    )


@cache
def fitting_room(with_man: bool, man_seconds: float = 200.0) -> StoreDay:
    """Four adult women in the fitting room at 10:00; with_man: a senior man there too."""
    people = [shopper(i, FITTING + 5 * i, zone="fitting") for i in range(4)]
    if with_man:
        people.append(
            shopper(9, FITTING + 2, zone="fitting", seconds=man_seconds, gender="male", age="senior")
        )
    return store_day(people)


def test_a_rare_key_is_published_whoever_came() -> None:
    """The row "fitting room, male, senior" exists in the naive release only when such a man came; under
    DP every key of the vocabulary may appear, so neither its presence nor its value says much."""
    days = {w: batches(fitting_room(w), ("demographics",)) for w in (True, False)}
    man = {"zone_id": "fitting", "gender": "male", "age_group": "senior"}

    def present(published: Published) -> float:
        return float(any(all(r[c] == v for c, v in man.items()) for r in published["demographics"]))

    def his_rows(published: Published) -> float:
        return total(published, "demographics", **man)

    # Measured (fixed seeds): naive 1.0; DP 0.50 (presence) and 0.59 (his rows' values).
    assert accuracy(present, days[True], days[False], naive_noisy) == 1.0
    released = {w: [dp_publish(days[w], SeededLaplace(s + 10**6 * (not w))) for s in SEEDS] for w in days}
    for statistic in (present, his_rows):
        found = best_accuracy([statistic(p) for p in released[True]], [statistic(p) for p in released[False]])
        assert found <= bound(EPSILON) + SLACK


def test_differencing_against_what_the_analyst_knows() -> None:
    """The analyst knows the four women (adult, female) and subtracts them from the zone's visitors."""
    days = {w: batches(fitting_room(w), ("footfall", "demographics")) for w in (True, False)}

    def others(published: Published) -> float:
        where = {"zone_id": "fitting", "granularity": "1d"}
        women = total(published, "demographics", **where, gender="female", age_group="adult")
        return total(published, "footfall", **where) - women

    exact = [
        others({n: naive_release(b.rows, TABLES[n][0], 3) for n, b in days[w].items()}) for w in (True, False)
    ]
    assert exact == [1, 0]  # the k-suppressed exact release gives him away; DP: measured 0.51
    assert accuracy(others, days[True], days[False], dp_publish) <= bound(EPSILON) + SLACK


def test_one_long_stay_cannot_be_summed_across_cells() -> None:
    """A man who stays four hours is in 48 five-minute cells; summing them adds up his contribution while
    the noise only grows as the square root. Bounding the cells a journey counts in stops that."""
    days = {w: batches(fitting_room(w, man_seconds=4 * 3600.0), ("footfall",)) for w in (True, False)}

    def five_minutes(published: Published) -> float:
        return total(published, "footfall", zone_id="fitting", granularity="5m")

    # Measured (fixed seeds): naive 0.99, DP 0.50.
    assert accuracy(five_minutes, days[True], days[False], naive_noisy) >= 0.9
    assert accuracy(five_minutes, days[True], days[False], dp_publish) <= bound(EPSILON) + SLACK


@cache
def fragments(with_woman: bool) -> StoreDay:
    """Three shoppers together; with_woman: one more whose track was lost twice (three journeys)."""
    people = [shopper(i, FITTING + 5 * i, zone="fitting") for i in range(3)]
    if with_woman:
        people += [
            [walk("cam", f"w{i}", FITTING + 40 * i, FITTING + 40 * i + 20, 0.2, 0.8, zone="fitting", group=5)]
            for i in range(3)
        ]
    return store_day(people)


def test_one_persons_fragments_cost_their_number_of_epsilons_only() -> None:
    """The privacy unit is a journey: a person re-connection split in three is protected with 3 epsilon
    (group privacy), still a bound; the naive release counts her three times in every cell."""
    days = {w: batches(fragments(w), ("footfall",)) for w in (True, False)}

    def every_row(published: Published) -> float:
        return total(published, "footfall")

    # Measured (fixed seeds): naive 0.905, DP 0.53; the DP limit here is 0.88.
    assert accuracy(every_row, days[True], days[False], naive_noisy) >= 0.9
    assert accuracy(every_row, days[True], days[False], dp_publish) <= bound(3 * EPSILON) + SLACK


def test_rerun_averaging_finds_only_the_first_release(tmp_path: Path) -> None:
    """The analyst reads the table after each of 100 runs over the same day and averages. Fresh noise
    per run averages away; the ledger keeps the first release, so the average is one draw."""
    days = {w: batches(fitting_room(w), ("footfall",)) for w in (True, False)}
    runs = 100

    def mean_of_runs(tables: list[Published]) -> float:
        return sum(total(p, "footfall", zone_id="fitting", granularity="1d") for p in tables) / runs

    def naive(day: dict[str, TableRows], seed: int) -> float:
        noise = SeededLaplace(seed)
        return mean_of_runs([naive_noisy(day, noise) for _ in range(runs)])

    def once(day: dict[str, TableRows], seed: int) -> float:
        ledger, noise = ReleaseLedger(str(tmp_path / str(seed))), SeededLaplace(seed)
        table: Published = {"footfall": []}
        seen = []
        for _ in range(runs):
            result = release_once(day["footfall"], FOOTFALL, BUDGET, VOCABULARY, ledger=ledger, noise=noise)
            if result.published is not None:
                table = {"footfall": list(result.published.rows)}
            seen.append(table)
        return mean_of_runs(seen)

    seeds = range(60)  # 100 runs each: fewer games, the same bound with twice the slack
    for averaged, limit in ((naive, (0.9, 1.0)), (once, (0.0, bound(EPSILON) + 2 * SLACK))):
        found = best_accuracy(
            [averaged(days[True], s) for s in seeds], [averaged(days[False], s + 10**6) for s in seeds]
        )
        assert limit[0] <= found <= limit[1], averaged.__name__  # measured: naive 0.98, once 0.57


def test_small_group_dwell_is_not_released() -> None:
    stays = (30.0, 75.0, 200.0)
    day = store_day([shopper(i, FITTING + 3 * i, zone="fitting", seconds=s) for i, s in enumerate(stays)])
    one = batches(day, ("dwell",))

    def statistics(published: Published) -> list[tuple[float, float, float]]:
        return [
            (r["dwell_p50_s"], r["dwell_p90_s"], r["dwell_mean_s"])
            for r in published["dwell"]
            if r["zone_id"] == "fitting" and r["granularity"] == "1h" and r["dwell_mean_s"] is not None
        ]

    p50, p90, mean = statistics(naive_noisy(one, SeededLaplace(0)))[0]  # the control: exact statistics
    top = p50 + (p90 - p50) / 0.8
    assert (3 * mean - p50 - top, p50, top) == pytest.approx(stays)
    assert statistics(dp_publish(one, SeededLaplace(0))) == []
