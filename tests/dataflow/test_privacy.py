"""k-suppression and DP noise: property tests over random rows, noise statistics, sidecar, Beam wiring."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from anonflow.contract.tables import ALL_TABLES, DEAD_LETTER, DWELL, FOOTFALL, HEATMAP, Table
from anonflow.dataflow.aggregate.base import TableRows
from anonflow.dataflow.privacy import (
    PrivacyConfig,
    ProtectCells,
    geometric_noise,
    laplace_noise,
    make_uniform,
    noised_columns,
    protect_row,
    sidecar,
    value_columns,
    withheld_columns,
    write_sidecar,
)

ANALYST_TABLES = [t for t in ALL_TABLES if t is not DEAD_LETTER]


def _row_strategy(table: Table) -> st.SearchStrategy[dict[str, Any]]:
    """A row as an aggregation would emit it: keys, a support count, and plausible values."""
    fields: dict[str, st.SearchStrategy[Any]] = {
        "store_id": st.just("store-1"),
        "date": st.just("2024-05-01"),
    }
    for column in table.columns:
        if column.name == "visitors":
            fields[column.name] = st.integers(0, 60)
        elif column.type == "int64":
            fields[column.name] = st.integers(0, 500) | st.none() if column.nullable else st.integers(0, 64)
        elif column.type == "double":
            fields[column.name] = st.floats(0.0, 3600.0) | st.none()
        elif column.type == "bool":
            fields[column.name] = st.just(False)
        elif column.type == "timestamp":
            fields[column.name] = st.integers(1_700_000_000_000, 1_800_000_000_000)
        else:
            fields[column.name] = st.sampled_from(["zone-a", "5m", "1h", "female", "adult"])
    return st.fixed_dictionaries(fields)


configs = st.builds(
    PrivacyConfig,
    k=st.integers(1, 20),
    epsilon=st.none() | st.floats(0.05, 5.0),
    mechanism=st.sampled_from(["geometric", "laplace"]),
    sensitivity=st.integers(1, 4),
    seed=st.integers(0, 2**32),
)


@settings(max_examples=400, deadline=None)
@given(data=st.data(), table=st.sampled_from(ANALYST_TABLES), config=configs)
def test_released_rows_hold_suppression_and_counts_are_never_negative(
    data: st.DataObject, table: Table, config: PrivacyConfig
) -> None:
    row = data.draw(_row_strategy(table))
    out = protect_row(row, table, config, make_uniform(config.seed))

    # Keys are untouched, and nothing is added or lost.
    assert set(out) == set(row)
    for name in set(row) - set(value_columns(table)) - {"suppressed"}:
        assert out[name] == row[name]
    # Suppression always holds on the true support.
    if row["visitors"] < config.k:
        assert out["suppressed"] is True
        assert all(out[name] is None for name in value_columns(table))
    else:
        assert out["suppressed"] is False
    # Counts are never negative, noised or not.
    for column in table.columns:
        if column.type == "int64" and out[column.name] is not None:
            assert out[column.name] >= 0
    # Without noise a released row is exact; with noise, unbounded columns are withheld.
    if not out["suppressed"] and config.epsilon is None:
        assert out == {**row, "suppressed": False}
    if not out["suppressed"] and config.epsilon is not None:
        assert all(out[name] is None for name in withheld_columns(table))


@pytest.mark.parametrize(
    ("visitors", "k", "suppressed"),
    [(0, 3, True), (2, 3, True), (3, 3, False), (1, 1, False), (0, 1, True), (9, 10, True)],
)
def test_threshold_table(visitors: int, k: int, suppressed: bool) -> None:
    row = {"zone_id": "z", "visitors": visitors, "entries": 1, "exits": 1, "peak_occupancy": 1}
    out = protect_row(row, FOOTFALL, PrivacyConfig(k=k), make_uniform(0))
    assert out["suppressed"] is suppressed
    assert (out["visitors"] is None) is suppressed


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ({"visitors": None}, "non-negative integer 'visitors'"),
        ({"visitors": -1}, "non-negative integer 'visitors'"),
        ({"visitors": True}, "non-negative integer 'visitors'"),
        ({}, "non-negative integer 'visitors'"),
    ],
)
def test_rows_without_support_are_wiring_errors(row: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        protect_row(row, FOOTFALL, PrivacyConfig(), make_uniform(0))


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"k": 0}, "greater than or equal to 1"),
        ({"epsilon": 0.0}, "greater than 0"),
        ({"mechanism": "gaussian"}, "geometric"),
        ({"k_anon": 3}, "Extra inputs are not permitted"),
    ],
)
def test_config_rejects(fields: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        PrivacyConfig(**fields)


@pytest.mark.parametrize("epsilon", [0.5, 1.0, 2.0])
def test_geometric_noise_matches_its_distribution(epsilon: float) -> None:
    uniform = make_uniform(7)
    draws = [geometric_noise(uniform, epsilon, 1) for _ in range(20_000)]
    alpha = math.exp(-epsilon)
    variance = 2 * alpha / (1 - alpha) ** 2
    assert abs(statistics.fmean(draws)) < 4 * math.sqrt(variance / len(draws))
    assert statistics.pvariance(draws) == pytest.approx(variance, rel=0.08)
    # P(0) = (1 - alpha) / (1 + alpha) for the two-sided geometric.
    assert draws.count(0) / len(draws) == pytest.approx((1 - alpha) / (1 + alpha), abs=0.015)


def test_laplace_noise_scale() -> None:
    uniform = make_uniform(11)
    draws = [laplace_noise(uniform, 0.5, 1) for _ in range(20_000)]
    # Laplace(b) has mean 0 and mean absolute deviation b = sensitivity / epsilon = 2.
    assert abs(statistics.fmean(draws)) < 0.1
    assert statistics.fmean(abs(d) for d in draws) == pytest.approx(2.0, rel=0.05)


def test_columns_per_table() -> None:
    assert noised_columns(FOOTFALL) == (
        "visitors",
        "journeys",
        "unlinked",
        "entries",
        "exits",
        "peak_occupancy",
    )
    assert withheld_columns(HEATMAP) == ("observations",)
    assert withheld_columns(DWELL) == ("dwell_p50_s", "dwell_p90_s", "dwell_mean_s")


def test_sidecar_records_parameters(tmp_path: Path) -> None:
    config = PrivacyConfig(k=5, epsilon=1.0)
    path = write_sidecar(str(tmp_path / "footfall"), FOOTFALL, config)
    written = json.loads(Path(path).read_text())
    assert written == sidecar(FOOTFALL, config)
    assert written["k"] == 5
    assert written["differential_privacy"]["mechanism"] == "geometric"
    assert written["differential_privacy"]["epsilon"] == 1.0
    assert written["differential_privacy"]["noised_columns"] == [
        "visitors",
        "journeys",
        "unlinked",
        "entries",
        "exits",
        "peak_occupancy",
    ]
    assert sidecar(FOOTFALL, PrivacyConfig())["differential_privacy"] is None


def test_protect_cells_transform() -> None:
    rows = (
        {
            "zone_id": "a",
            "visitors": 2,
            "journeys": 3,
            "unlinked": 0,
            "entries": 2,
            "exits": 0,
            "peak_occupancy": 2,
        },
        {
            "zone_id": "b",
            "visitors": 7,
            "journeys": 9,
            "unlinked": 1,
            "entries": 5,
            "exits": 4,
            "peak_occupancy": 3,
        },
    )
    batch = TableRows("footfall", "store-1", "2024-05-01", 0, rows)
    with BeamPipeline() as p:
        out = p | beam.Create([batch]) | ProtectCells(FOOTFALL, PrivacyConfig(k=3))
        hidden = {
            "visitors": None,
            "journeys": None,
            "unlinked": None,
            "entries": None,
            "exits": None,
            "peak_occupancy": None,
        }
        expected = ({"zone_id": "a", **hidden, "suppressed": True}, {**rows[1], "suppressed": False})
        assert_that(out, equal_to([TableRows("footfall", "store-1", "2024-05-01", 0, expected)]))


def test_protect_cells_needs_support_column() -> None:
    with pytest.raises(ValueError, match="no 'visitors' column"):
        ProtectCells(DEAD_LETTER, PrivacyConfig())
