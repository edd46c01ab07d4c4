"""Output privacy: the k-anonymous release (default) and the optional noise mode, as one Beam step.

Every analyst table goes through `ProtectCells`: rows backed by fewer than k people (at the fewest) are not
published, released counts are perturbed by the cell-key method, small-group statistics are coarse and
unbounded sums withheld (the rules and why: `anonflow.dataflow.release`). With `epsilon` set, released
counts additionally get two-sided geometric (or rounded Laplace) noise; that mode is **not** a
differential-privacy guarantee (row existence still depends on exact support, noise is drawn per run
and per pane), which `_privacy.json` states.

`_privacy.json` next to each table records the parameters an analyst needs to read it. The cell-key
secret comes from `ANONFLOW_CELL_KEY_SECRET` (hex, at least 16 bytes); without it each run draws its
own, so two runs over the same day give independently perturbed tables (recorded as `"per_run"`).
"""

from __future__ import annotations

import json
import math
import os
import random
import secrets
from collections.abc import Callable, Iterator
from typing import Any, Final, Literal

import apache_beam as beam
from apache_beam.metrics import Metrics
from pydantic import Field, model_validator

from anonflow import __version__
from anonflow.contract.settings import StrictModel
from anonflow.contract.tables import Table
from anonflow.dataflow.aggregate.base import TableRows
from anonflow.dataflow.cellkey import PERTURBATION
from anonflow.dataflow.release import (
    SUPPORT_COLUMN,
    counted_columns,
    release,
    statistic_columns,
    withheld_columns,
)
from anonflow.dataflow.support import OVERLAP_MS

SIDECAR_NAME: Final = "_privacy.json"
SECRET_ENV: Final = "ANONFLOW_CELL_KEY_SECRET"

Uniform = Callable[[], float]


class PrivacyConfig(StrictModel):
    """How the job protects released cells."""

    k: int = Field(
        3,
        ge=2,
        le=1000,
        description="Rows backed by fewer people (at the fewest) are not published (k >= 2).",
    )
    dwell_min_support: int = Field(
        10,
        ge=2,
        le=10_000,
        description="Dwell statistics only for rows of at least this many people (and at least k).",
    )
    dwell_round_s: float = Field(
        30.0, gt=0.0, le=3600.0, description="Dwell statistics are rounded to multiples of this."
    )
    secret: bytes = Field(
        default_factory=lambda: secrets.token_bytes(32),
        min_length=16,
        max_length=1024,
        repr=False,
        description="Cell-key secret: HMAC key of the record keys (never written anywhere).",
    )
    secret_persistent: bool = Field(
        False, description="True when the secret is the deployment's own (stable across runs)."
    )
    epsilon: float | None = Field(
        None,
        gt=0.0,
        le=10.0,
        description="Noise per released count on top of the release; None: cell-key perturbation only.",
    )
    mechanism: Literal["geometric", "laplace"] = Field(
        "geometric", description="Noise distribution: two-sided geometric (integer) or rounded Laplace."
    )
    sensitivity: int = Field(
        1,
        ge=1,
        le=1000,
        description="Most one journey can change one count in one row (1 for distinct-journey counts).",
    )
    seed: int | None = Field(None, description="Seed for reproducible noise in tests; never in production.")

    @model_validator(mode="after")
    def _dwell_above_k(self) -> PrivacyConfig:
        if self.dwell_min_support < self.k:
            raise ValueError(f"dwell_min_support ({self.dwell_min_support}) must be at least k ({self.k})")
        return self

    @classmethod
    def from_environment(cls, **fields: Any) -> PrivacyConfig:
        """The config with the deployment's cell-key secret from `ANONFLOW_CELL_KEY_SECRET` if set.

        Raises ValueError (one line) if the variable is set but not hex of 16 to 1024 bytes.
        """
        text = os.environ.get(SECRET_ENV, "").strip()
        if not text:
            return cls(**fields)
        try:
            secret = bytes.fromhex(text)
        except ValueError:
            raise ValueError(f"{SECRET_ENV} must be hex (e.g. `openssl rand -hex 32`)") from None
        if not 16 <= len(secret) <= 1024:
            raise ValueError(f"{SECRET_ENV} must hold 16 to 1024 bytes, got {len(secret)}")
        return cls(secret=secret, secret_persistent=True, **fields)


def value_columns(table: Table) -> tuple[str, ...]:
    """Columns whose values disclosure control changes: the table's nullable columns."""
    return tuple(c.name for c in table.columns if c.nullable)


def noised_columns(table: Table) -> tuple[str, ...]:
    """Counts that get noise when epsilon is set."""
    return counted_columns(table)


def geometric_noise(uniform: Uniform, epsilon: float, sensitivity: int) -> int:
    """One draw of two-sided geometric noise: P(z) proportional to exp(-epsilon * |z| / sensitivity)."""
    alpha = math.exp(-epsilon / sensitivity)
    log_alpha = math.log(alpha)

    def one_sided() -> int:
        # Inverse CDF of the number of failures before a success with probability 1 - alpha.
        return math.floor(math.log(1.0 - uniform()) / log_alpha)

    return one_sided() - one_sided()


def laplace_noise(uniform: Uniform, epsilon: float, sensitivity: int) -> float:
    """One draw of Laplace noise with scale sensitivity / epsilon."""
    u = uniform()
    while u == 0.0:  # keep u - 0.5 strictly inside (-0.5, 0.5) so the logarithm is finite
        u = uniform()
    u -= 0.5
    scale = sensitivity / epsilon
    return -scale * math.copysign(1.0, u) * math.log(1.0 - 2.0 * abs(u))


def make_uniform(seed: int | None) -> Uniform:
    """Uniform draws in [0, 1): the OS CSPRNG, or a seeded generator for reproducible tests."""
    return random.Random(seed).random if seed is not None else random.SystemRandom().random


def add_noise(
    rows: tuple[dict[str, Any], ...], table: Table, config: PrivacyConfig, uniform: Uniform
) -> None:
    """Noise on every released count, in place (epsilon mode); clamped at 0, released support at k."""
    assert config.epsilon is not None
    for row in rows:
        for name in noised_columns(table):
            value = row.get(name)
            if value is None:
                continue
            if config.mechanism == "geometric":
                noisy = int(value) + geometric_noise(uniform, config.epsilon, config.sensitivity)
            else:
                noisy = round(int(value) + laplace_noise(uniform, config.epsilon, config.sensitivity))
            row[name] = max(config.k if name == SUPPORT_COLUMN else 0, noisy)


def protect(batch: TableRows, table: Table, config: PrivacyConfig, uniform: Uniform) -> tuple[TableRows, int]:
    """The batch as published and the number of rows hidden (see the module docstring)."""
    if batch.table != table.name:
        raise ValueError(f"rows of table {batch.table} given to the {table.name} step")
    released, hidden = release(
        batch,
        table,
        config.secret,
        k=config.k,
        dwell_min_support=config.dwell_min_support,
        dwell_round_s=config.dwell_round_s,
    )
    if config.epsilon is not None:
        add_noise(released.rows, table, config, uniform)
    return released, hidden


def sidecar(table: Table, config: PrivacyConfig) -> dict[str, Any]:
    """What `_privacy.json` says about a table: the parameters an analyst needs to read it correctly."""
    record: dict[str, Any] = {
        "table": table.name,
        "written_by": f"anonflow {__version__}",
        "k": config.k,
        "support": "fewest people who could have made the row's journeys: the most of them overlapping "
        f"in time (by more than {OVERLAP_MS // 1000} s) at one instant",
        "suppression": "rows backed by fewer than k people are not published; a missing row "
        "means fewer than k people, possibly none",
        "perturbation": {
            "method": "cell key",
            "columns": list(counted_columns(table)),
            "ptable": [{"offset": o, "probability": p} for o, p in PERTURBATION],
            "support_floor": config.k,
            "secret": "deployment" if config.secret_persistent else "per_run",
        },
        "statistics": {
            "columns": list(statistic_columns(table)),
            "min_support": config.dwell_min_support,
            "rounded_to": config.dwell_round_s,
        },
        "withheld_columns": list(withheld_columns(table)),
        "noise": None,
    }
    if config.epsilon is not None:
        record["noise"] = {
            "mechanism": config.mechanism,
            "epsilon_per_count": config.epsilon,
            "sensitivity": config.sensitivity,
            "scale": config.sensitivity / config.epsilon,
            "noised_columns": list(noised_columns(table)),
            "differentially_private": False,
            "why_not": "which rows exist depends on exact support; noise is drawn per run and per pane",
            "seeded": config.seed is not None,
        }
    return record


def write_sidecar(table_root: str, table: Table, config: PrivacyConfig) -> str:
    """Write `<table_root>/_privacy.json` (local path or any Beam filesystem URL); returns its path."""
    from apache_beam.io.filesystems import FileSystems

    if "://" not in table_root and not FileSystems.exists(table_root):
        FileSystems.mkdirs(table_root)  # object stores have no directories to make
    path = FileSystems.join(table_root, SIDECAR_NAME)
    with FileSystems.create(path, mime_type="application/json") as handle:
        handle.write(json.dumps(sidecar(table, config), indent=2, sort_keys=True).encode("utf-8"))
    return path


class _ProtectDoFn(beam.DoFn):
    def __init__(self, table: Table, config: PrivacyConfig) -> None:
        self._table = table
        self._config = config
        self._uniform: Uniform | None = None  # made in setup(): a CSPRNG does not pickle
        self.suppressed = Metrics.counter("anonflow", f"cells_suppressed_{table.name}")
        self.released = Metrics.counter("anonflow", f"cells_released_{table.name}")

    def setup(self) -> None:
        self._uniform = make_uniform(self._config.seed)

    def process(self, batch: TableRows) -> Iterator[TableRows]:
        if self._uniform is None:
            self._uniform = make_uniform(self._config.seed)
        released, hidden = protect(batch, self._table, self._config, self._uniform)
        self.suppressed.inc(hidden)
        self.released.inc(len(released.rows))
        yield released


class ProtectCells(beam.PTransform):
    """`TableRows` with true counts -> the rows as published (see the module docstring), counted."""

    def __init__(self, table: Table, config: PrivacyConfig) -> None:
        super().__init__()
        if SUPPORT_COLUMN not in table.column_names:
            raise ValueError(f"table {table.name} has no {SUPPORT_COLUMN!r} column to measure support")
        self._table = table
        self._config = config

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        return batches | "Protect" >> beam.ParDo(_ProtectDoFn(self._table, self._config))
