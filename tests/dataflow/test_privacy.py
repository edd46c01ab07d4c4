"""The release step: thresholds on people, config errors, sidecar, Beam wiring."""

from __future__ import annotations

import base64
import bz2
import json
import zlib
from pathlib import Path
from typing import Any

import apache_beam as beam
import pytest
from apache_beam.internal import pickler
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline
from apache_beam.testing.util import assert_that, equal_to
from pydantic import ValidationError

from anonflow.contract.tables import DEAD_LETTER, DWELL, FOOTFALL, HEATMAP
from anonflow.dataflow.aggregate.base import CONTRIBUTORS, TableRows
from anonflow.dataflow.privacy import (
    SECRET_ENV,
    PrivacyConfig,
    ProtectCells,
    protect,
    sidecar,
    write_sidecar,
)
from anonflow.dataflow.release import counted_columns, statistic_columns, withheld_columns
from anonflow.dataflow.support import Contributor

SECRET = b"test-secret-0123456789"


def _batch(rows: list[dict[str, Any]], spans: list[tuple[int, int]]) -> TableRows:
    """A footfall batch whose journey i spans spans[i] (seconds)."""
    who = tuple(Contributor(f"s1/cam/t{i}", s * 1000, e * 1000) for i, (s, e) in enumerate(spans))
    return TableRows("footfall", "s1", "2024-05-01", 0, tuple(rows), who)


def _row(zone: str, journeys: set[int], **values: Any) -> dict[str, Any]:
    counts = {"entries": 0, "exits": 0, "peak_occupancy": 1, **values}
    return {"zone_id": zone, "visitors": len(journeys), **counts, CONTRIBUTORS: frozenset(journeys)}


TOGETHER = [(0, 100), (10, 110), (20, 120)]  # three journeys sharing 80 s: three people
ONE_AFTER_ANOTHER = [(0, 100), (100, 200), (200, 300)]  # could be one person coming back


@pytest.mark.parametrize(
    ("spans", "k", "released"),
    [
        (TOGETHER, 3, True),
        (TOGETHER[:2], 3, False),
        (ONE_AFTER_ANOTHER, 2, False),
        ([(0, 100), (10, 110), (150, 250)], 3, False),  # the third could be one of the first two
        ([(0, 100), (60, 160), (65, 165)], 3, True),  # share 35 s: more than the 30 s hand-over slack
        ([(0, 100), (75, 175), (80, 180)], 3, False),  # share 20 s: could be one person at a hand-over
        ([(0, 20), (0, 20), (0, 20)], 2, False),  # shorter than the slack: never counted
        (TOGETHER[:2], 2, True),
    ],
)
def test_threshold_counts_people(spans: list[tuple[int, int]], k: int, released: bool) -> None:
    journeys = set(range(len(spans)))
    out, hidden = protect(_batch([_row("z", journeys)], spans), FOOTFALL, PrivacyConfig(k=k, secret=SECRET))
    assert (len(out.rows), hidden) == ((1, 0) if released else (0, 1))
    assert out.contributors == ()


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ({"visitors": 1}, "no '_contributors' set"),
        ({"visitors": 1, CONTRIBUTORS: frozenset({9})}, "beyond the day's 3"),
    ],
)
def test_rows_without_contributors_are_wiring_errors(row: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        protect(_batch([row], TOGETHER), FOOTFALL, PrivacyConfig(secret=SECRET))


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"k": 1}, "greater than or equal to 2"),
        ({"k": 0}, "greater than or equal to 2"),
        ({"dp": {"epsilon": 0.0}}, "greater than 0"),
        ({"dp": {"epsilon": 50.0}}, "less than or equal to 10"),
        ({"dp": {"epsilon": 1.0, "tables": {"footfall": 1.0}}}, "no share for dwell"),
        ({"epsilon": 1.0}, "Extra inputs are not permitted"),
        ({"k": 5, "dwell_min_support": 4}, "dwell_min_support \\(4\\) must be at least k \\(5\\)"),
        ({"secret": b"short"}, "at least 16"),
        ({"k_anon": 3}, "Extra inputs are not permitted"),
    ],
)
def test_config_rejects(fields: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        PrivacyConfig(**fields)


@pytest.mark.parametrize(
    ("value", "error"),
    [("zz", "must be hex"), ("00" * 8, "16 to 1024 bytes, got 8")],
)
def test_secret_from_environment_rejects(monkeypatch: pytest.MonkeyPatch, value: str, error: str) -> None:
    monkeypatch.setenv(SECRET_ENV, value)
    with pytest.raises(ValueError, match=error):
        PrivacyConfig.from_environment()


def test_secret_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, "ab" * 32)
    config = PrivacyConfig.from_environment(k=4)
    assert (config.secret, config.secret_persistent, config.k) == (b"\xab" * 32, True, 4)
    assert "ab" not in repr(config).lower().replace("enabled", "")
    monkeypatch.delenv(SECRET_ENV)
    assert not PrivacyConfig.from_environment().secret_persistent


def test_columns_per_table() -> None:
    assert counted_columns(FOOTFALL) == (
        "visitors",
        "journeys",
        "unlinked",
        "entries",
        "exits",
        "peak_occupancy",
    )
    assert withheld_columns(HEATMAP) == ("observations",)
    assert statistic_columns(DWELL) == ("dwell_p50_s", "dwell_p90_s", "dwell_mean_s")


def test_sidecar_records_parameters(tmp_path: Path) -> None:
    config = PrivacyConfig(k=5, secret=SECRET)
    path = write_sidecar(str(tmp_path / "footfall"), FOOTFALL, config)
    written = json.loads(Path(path).read_text())
    assert written == sidecar(FOOTFALL, config)
    assert written["k"] == 5
    assert written["perturbation"]["method"] == "cell key"
    assert written["perturbation"]["secret"] == "per_run"
    assert written["differentially_private"] is False
    assert written["perturbation"]["columns"] == [
        "visitors",
        "journeys",
        "unlinked",
        "entries",
        "exits",
        "peak_occupancy",
    ]
    assert SECRET.hex() not in Path(path).read_text()


def test_protect_cells_transform() -> None:
    rows = [_row("a", {0, 1}, entries=2), _row("b", {0, 1, 2, 3, 4, 5, 6}, entries=5, exits=4)]
    batch = _batch(rows, [(i, 100 + i) for i in range(7)])
    config = PrivacyConfig(k=3, secret=SECRET)
    expected, _ = protect(batch, FOOTFALL, config)
    assert [r["zone_id"] for r in expected.rows] == ["b"]
    with BeamPipeline() as p:
        out = p | beam.Create([batch]) | ProtectCells(FOOTFALL, config)
        assert_that(out, equal_to([expected]))


def test_protect_cells_needs_support_column() -> None:
    with pytest.raises(ValueError, match="no 'visitors' column"):
        ProtectCells(DEAD_LETTER, PrivacyConfig())


DEPLOYMENT_SECRET = bytes(range(32))


def _pickle_bytes(shipped: bytes) -> bytes:
    """The raw pickle inside Beam's pickler output (base64 of a compressed pickle: bz2 or zlib)."""
    packed = base64.b64decode(shipped)
    return bz2.decompress(packed) if packed.startswith(b"BZh") else zlib.decompress(packed)


def _shipped(transform: ProtectCells) -> bytes:
    """The step as a runner receives and keeps it (Flink stores the job graph for recovery)."""
    return pickler.dumps(transform)


@pytest.mark.parametrize(
    ("shipped", "leaks"),
    [
        pytest.param(lambda config: _shipped(ProtectCells(FOOTFALL, config)), False, id="the job's step"),
        # positive control: a step that keeps its config as given carries the secret into the graph
        pytest.param(pickler.dumps, True, id="naive: the config itself"),
        # what --ship_cell_key asks for (Dataflow), and says it does
        pytest.param(
            lambda config: _shipped(ProtectCells(FOOTFALL, config.model_copy(update={"ship_secret": True}))),
            True,
            id="shipped on request",
        ),
    ],
)
def test_the_deployments_secret_is_not_in_the_shipped_job(shipped: Any, leaks: bool) -> None:
    """Whoever reads a stored job graph must not find the deployment's key in it."""
    config = PrivacyConfig(secret=DEPLOYMENT_SECRET, secret_persistent=True)
    assert (DEPLOYMENT_SECRET in _pickle_bytes(shipped(config))) is leaks


@pytest.mark.parametrize(
    ("worker_env", "error"),
    [
        (DEPLOYMENT_SECRET.hex(), None),
        (None, "missing or differs from the job's"),
        (bytes(reversed(DEPLOYMENT_SECRET)).hex(), "missing or differs from the job's"),
        ("zz", "unusable: ANONFLOW_CELL_KEY_SECRET must be hex"),
    ],
)
def test_workers_read_the_secret_and_must_hold_the_drivers(
    monkeypatch: pytest.MonkeyPatch, worker_env: str | None, error: str | None
) -> None:
    rows = [_row("b", {0, 1, 2, 3, 4, 5, 6}, entries=5, exits=4)]
    batch = _batch(rows, [(i, 100 + i) for i in range(7)])
    config = PrivacyConfig(secret=DEPLOYMENT_SECRET, secret_persistent=True)
    worker = pickler.loads(_shipped(ProtectCells(FOOTFALL, config)))._do
    if worker_env is None:
        monkeypatch.delenv(SECRET_ENV, raising=False)
    else:
        monkeypatch.setenv(SECRET_ENV, worker_env)
    if error is not None:
        with pytest.raises(RuntimeError, match=error):
            worker.setup()
        return
    worker.setup()
    assert list(worker.process(batch)) == [protect(batch, FOOTFALL, config)[0]]
