"""The differentially private release's parts: budget and its one-line errors, public partitions,
contribution bounding, the samplers (OpenDP and the tests' seeded double, one contract), the ledger, the
sidecar and the Beam step (early panes held, a second release refused)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline
from apache_beam.testing.util import assert_that, equal_to

from anonflow.contract.tables import DEMOGRAPHICS, FOOTFALL, HEATMAP
from anonflow.dataflow.aggregate.base import CONTRIBUTORS, TableRows
from anonflow.dataflow.dpbudget import DpBudget, budget_from_options
from anonflow.dataflow.dpnoise import Noise, OpenDpNoise, laplace_scale, privacy_loss
from anonflow.dataflow.dprelease import bounded_counts, dp_release
from anonflow.dataflow.ledger import ReleaseLedger
from anonflow.dataflow.partitions import PublicVocabulary, public_keys, vocabularies
from anonflow.dataflow.privacy import PrivacyConfig, ProtectCells, check_sidecar, sidecar, write_sidecar
from anonflow.dataflow.stores import StoresConfig
from anonflow.dataflow.support import Contributor
from anonflow.dataflow.windows import Granularity
from tests.kit.laplace import SeededLaplace

VOCABULARY = PublicVocabulary("UTC", ("fitting", "till"), ("cam",), 4)
DAY = "2024-05-14"
DAY_START_MS = 1_715_644_800_000  # 2024-05-14T00:00:00Z


def discrete_laplace_variance(scale: float) -> float:
    alpha = math.exp(-1.0 / scale)
    return 2 * alpha / (1 - alpha) ** 2


@pytest.mark.parametrize(
    ("sampler", "agrees"),
    [(OpenDpNoise(), True), (SeededLaplace(1), True), (SeededLaplace(2, widen=1.3), False)],
)
def test_samplers_agree(sampler: Noise, agrees: bool) -> None:
    """One contract over every sampler: mean 0 and the discrete Laplace variance (OpenDP's draws are not
    seeded: 40,000 draws put the variance within 6 % at 6 standard errors). The widened double is the
    control that the check can fail."""
    scale = 3.0
    draws = np.array(sampler([0] * 40_000, scale))
    variance = discrete_laplace_variance(scale)
    assert abs(draws.mean()) < 6 * math.sqrt(variance / len(draws))
    assert bool(abs(draws.var() / variance - 1) < 0.06) is agrees


@pytest.mark.parametrize(("sensitivity", "epsilon"), [(1, 1.0), (6, 0.3), (12, 0.05)])
def test_scale_is_what_opendp_proves(sensitivity: int, epsilon: float) -> None:
    scale = laplace_scale(sensitivity, epsilon)
    assert scale == pytest.approx(sensitivity / epsilon, rel=1e-6)
    assert privacy_loss(sensitivity, scale) <= epsilon
    assert privacy_loss(sensitivity, scale * 0.9) > epsilon


SPLIT = "footfall=0.5,dwell=0.1,demographics=0.2,flows=0.1,heatmap=0.1"


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ((1.0, None, None, None), None),
        ((1.0, SPLIT, "5m=0.2,1h=0.5,1d=0.3", "5m=10,1h=5,1d=2"), None),
        ((0.0, None, None, None), "--dp_epsilon: Input should be greater than 0"),
        ((-1.0, None, None, None), "--dp_epsilon: Input should be greater than 0"),
        ((1e6, None, None, None), "--dp_epsilon: Input should be less than or equal to 10"),
        (
            (1.0, SPLIT.replace("0.5", "0.6"), None, None),
            "--dp_table_split: table split: shares must sum to 1",
        ),
        ((1.0, "footfall=1", None, None), "no share for dwell, demographics, flows, heatmap"),
        ((1.0, SPLIT + ",door=0", None, None), "unknown door"),
        ((1.0, None, "5m=0,1h=0.7,1d=0.3", None), None),  # no five-minute rows at all
        (
            (1.0, None, "5m=0.5,1h=0.6,1d=-0.1", None),
            "--dp_granularity_split: granularity split: shares must",
        ),
        ((1.0, None, "5m=half", None), "--dp_granularity_split: 'half' is not a number"),
        ((1.0, None, "5m:1", None), "--dp_granularity_split: '5m:1' is not name=value"),
        ((1.0, None, None, "5m=0,1h=1,1d=1"), "--dp_max_cells: max cells must lie in 1..10000"),
        ((1.0, None, None, "5m=1"), "--dp_max_cells: max cells: give exactly 5m, 1h, 1d"),
        ((1.0, None, None, "5m=1.5,1h=1,1d=1"), "--dp_max_cells: cell counts must be whole numbers"),
        ((None, SPLIT, None, None), "need --dp_epsilon"),
    ],
)
def test_budget_options(options: tuple[Any, ...], error: str | None) -> None:
    if error is None:
        budget = budget_from_options(*options)
        assert budget is not None
        spent = sum(
            budget.epsilon_of(table, g, published)
            for table, published in {
                "footfall": ("5m", "1h", "1d"),
                "dwell": ("5m", "1h", "1d"),
                "demographics": ("5m", "1h", "1d"),
                "flows": ("5m", "1h", "1d"),
                "heatmap": ("1h", "1d"),
            }.items()
            for g in published
        )
        assert spent == pytest.approx(budget.epsilon)  # the heat map spends its share over 1h and 1d
        return
    with pytest.raises(ValueError, match=error) as raised:
        budget_from_options(*options)
    assert "\n" not in str(raised.value)


def test_public_keys_come_from_the_vocabulary_and_the_day() -> None:
    assert len(public_keys(FOOTFALL, VOCABULARY, DAY, Granularity.FIVE_MINUTES)) == 288 * 3
    assert len(public_keys(DEMOGRAPHICS, VOCABULARY, DAY, Granularity.HOUR)) == 24 * 3 * 3 * 4
    berlin = PublicVocabulary("Europe/Berlin", ("a",), ("cam",), 4)
    assert len(public_keys(FOOTFALL, berlin, "2024-03-31", Granularity.HOUR)) == 23 * 2  # spring DST
    heat = public_keys(HEATMAP, VOCABULARY, DAY, Granularity.DAY)
    assert {(k["cell_x"], k["cell_y"]) for k in heat} == {(x, y) for x in range(4) for y in range(4)}


@pytest.mark.parametrize(
    ("stores", "error"),
    [
        (None, "needs --stores naming every store's zones and cameras"),
        ({"stores": [{"store_id": "s1", "time_zone": "UTC"}]}, "store 's1' names no zones or no cameras"),
        ({"stores": [{"store_id": "s1", "time_zone": "UTC", "zones": ["a"], "cameras": ["c"]}]}, None),
    ],
)
def test_vocabularies_need_zones_and_cameras(stores: dict[str, Any] | None, error: str | None) -> None:
    config = StoresConfig.model_validate(stores) if stores else None
    if error:
        with pytest.raises(ValueError, match=error):
            vocabularies(config, 8)
    else:
        assert vocabularies(config, 8) == {"s1": PublicVocabulary("UTC", ("a",), ("c",), 8)}


def _who(n: int) -> tuple[Contributor, ...]:
    return tuple(Contributor(f"s1/cam/t{i}", 0, 100_000) for i in range(n))


def test_bounding_keeps_at_most_max_cells_per_journey() -> None:
    # Journey 0 is in all ten cells, journeys 1 and 2 in one each.
    members = [frozenset({0, 1}), frozenset({0, 2}), *[frozenset({0})] * 8]
    keys = [(i,) for i in range(10)]
    counts, cut = bounded_counts(members, keys, _who(3), max_cells=3)
    assert cut == 7 and sum(counts) == 3 + 2
    # Which three cells journey 0 keeps depends on journey 0 alone, not on who else came.
    alone, _ = bounded_counts([frozenset({0})] * 10, keys, _who(1), max_cells=3)
    assert [c > 0 for c in alone] == [c - (1 if i < 2 else 0) > 0 for i, c in enumerate(counts)]


def _footfall_batch(timing: str = "on_time", zone: str = "fitting") -> TableRows:
    rows = [
        {
            "zone_id": zone,
            "granularity": "1d",
            "window_start": DAY_START_MS,
            "window_end": DAY_START_MS + 86_400_000,
            "visitors": 5,
            CONTRIBUTORS: frozenset(range(5)),
        }
    ]
    return TableRows("footfall", "s1", DAY, 0, tuple(rows), _who(5), timing)


def test_release_publishes_noisy_counts_of_public_keys_only() -> None:
    budget = DpBudget(epsilon=10.0)
    released, outcome = dp_release(_footfall_batch(), FOOTFALL, budget, VOCABULARY, SeededLaplace(3))
    day = [r for r in released.rows if r["granularity"] == "1d" and r["zone_id"] == "fitting"]
    assert len(day) == 1 and abs(day[0]["visitors"] - 5) <= 10
    assert all(set(r) == set(FOOTFALL.column_names) for r in released.rows)
    assert all(r["journeys"] is None and r["entries"] is None for r in released.rows)
    assert released.contributors == () and outcome.off_vocabulary == 0
    _, outcome = dp_release(
        _footfall_batch(zone="secret-room"), FOOTFALL, budget, VOCABULARY, SeededLaplace(3)
    )
    assert outcome.off_vocabulary == 1


def test_ledger_claims_once(tmp_path: Path) -> None:
    ledger = ReleaseLedger(str(tmp_path))
    assert ledger.claim("footfall", "s1", DAY, {"pane": 0})
    assert not ledger.claim("footfall", "s1", DAY, {"pane": 1})
    assert ledger.claim("footfall", "s1", "2024-05-15", {"pane": 0})
    assert json.loads(Path(ledger.marker("footfall", "s1", DAY)).read_text())["pane"] == 0


def test_sidecar_records_the_budget() -> None:
    record = sidecar(HEATMAP, PrivacyConfig(dp=DpBudget(epsilon=2.0)))
    assert record["differentially_private"] is True
    assert record["table_epsilon"] == pytest.approx(2.0 * 0.05)  # the heat map's default share
    assert set(record["granularities"]) == {"1h", "1d"}
    hour = record["granularities"]["1h"]
    # The heat map has no five-minute rows: it spends its share over 1h and 1d pro rata (0.9 : 0.1).
    assert hour["epsilon"] == pytest.approx(0.1 * 0.9 / (0.9 + 0.1))
    assert hour["epsilon_proved_by_opendp"] <= hour["epsilon"]
    assert record["withheld_columns"] == ["observations"]


def test_step_holds_early_panes_and_refuses_a_second_release(tmp_path: Path) -> None:
    config = PrivacyConfig(dp=DpBudget(epsilon=10.0))
    ledger = ReleaseLedger(str(tmp_path))

    def step() -> ProtectCells:
        return ProtectCells(
            FOOTFALL, config, vocabularies={"s1": VOCABULARY}, ledger=ledger, noise=SeededLaplace(5)
        )

    batches = [_footfall_batch("early"), _footfall_batch("on_time"), _footfall_batch("late")]
    with BeamPipeline() as p:
        out = p | beam.Create(batches) | step() | beam.Map(lambda b: b.pane)
        assert_that(out, equal_to([0]))  # one release: the on-time pane
    with BeamPipeline() as p:  # a re-run of the day publishes nothing new
        out = p | beam.Create(batches[1:]) | step()
        assert_that(out, equal_to([]))
    assert ledger.released("footfall", "s1", DAY)


def test_step_needs_vocabularies_and_ledger() -> None:
    with pytest.raises(ValueError, match="needs the stores' vocabularies and a ledger"):
        ProtectCells(FOOTFALL, PrivacyConfig(dp=DpBudget(epsilon=1.0)))


@pytest.mark.parametrize(
    ("then", "error"),
    [
        (PrivacyConfig(dp=DpBudget(epsilon=2.0)), None),
        (PrivacyConfig(dp=DpBudget(epsilon=3.0)), "other parameters \\(epsilon_per_store_day, granularities"),
        (PrivacyConfig(), "other parameters .*write to another --output"),
    ],
)
def test_a_dp_output_keeps_its_parameters(tmp_path: Path, then: PrivacyConfig, error: str | None) -> None:
    root = str(tmp_path / "footfall")
    check_sidecar(root, FOOTFALL, PrivacyConfig(dp=DpBudget(epsilon=2.0)))  # nothing written yet
    write_sidecar(root, FOOTFALL, PrivacyConfig(dp=DpBudget(epsilon=2.0)))
    if error is None:
        check_sidecar(root, FOOTFALL, then)
        return
    with pytest.raises(ValueError, match=error):
        check_sidecar(root, FOOTFALL, then)


def test_a_share_of_zero_leaves_a_granularity_out() -> None:
    budget = DpBudget(epsilon=10.0, granularities={"5m": 0.0, "1h": 0.7, "1d": 0.3})
    released, _ = dp_release(_footfall_batch(), FOOTFALL, budget, VOCABULARY, SeededLaplace(4))
    assert {r["granularity"] for r in released.rows} == {"1h", "1d"}
    record = sidecar(FOOTFALL, PrivacyConfig(dp=budget))
    assert record["granularities"]["5m"] == {"epsilon": 0.0, "published": False}
    assert record["granularities"]["1h"]["epsilon"] == pytest.approx(10.0 * 0.8 * 0.7)  # footfall 0.8
