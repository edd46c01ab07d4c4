"""Output privacy: k-suppression of small cells, and optional differential-privacy noise on counts.

Rows are dicts keyed by a table's column names (as `anonflow.contract.tables` defines them), carrying the true
counts from the aggregation. Every analyst table has a `visitors` column: the number of distinct
anonymous journeys backing the row. That is the row's *support*.

1. **k-suppression (always).** A row whose support is below k (default 3) keeps its key columns
   (zone, window, grid cell, ...) but every value column becomes null and `suppressed` is true. The rule
   uses the true support, so it holds for every released row, with or without noise.
2. **Noise (optional, `epsilon` set).** For tables shared outside the company, each released count gets
   independent noise from the two-sided geometric mechanism (the discrete Laplace; default) or the
   Laplace mechanism rounded to an integer, with scale `sensitivity / epsilon`, then is clamped at 0
   (post-processing, so the guarantee is kept; it biases small counts upwards). Columns whose
   per-journey contribution is unbounded (foot-point observations, dwell statistics) are withheld
   (null) rather than released without a guarantee.

What the guarantee covers, stated in the `_privacy.json` sidecar written next to each table: epsilon is
spent per released count; a journey that appears in n cells (several zones, windows and granularities)
spends n x epsilon by sequential composition. The fact that a row was *released* reveals that its true
support is at least k, as with any k-threshold. Noise comes from the operating system's CSPRNG unless a
seed is given (tests only).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any, Final, Literal

import apache_beam as beam
from apache_beam.metrics import Metrics
from pydantic import Field

from anonflow import __version__
from anonflow.contract.settings import StrictModel
from anonflow.contract.tables import SUPPRESSED, Table
from anonflow.dataflow.aggregate.base import TableRows

SUPPORT_COLUMN: Final = "visitors"
SIDECAR_NAME: Final = "_privacy.json"
# Counts whose per-journey contribution the aggregations cannot bound: withheld under noise.
_UNBOUNDED_COUNTS: Final = frozenset({"observations"})

Uniform = Callable[[], float]


class PrivacyConfig(StrictModel):
    """How the job protects released cells."""

    k: int = Field(3, ge=1, le=1000, description="Rows backed by fewer distinct journeys are suppressed.")
    epsilon: float | None = Field(
        None,
        gt=0.0,
        le=10.0,
        description="Differential-privacy budget per released count; None releases exact counts.",
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


def value_columns(table: Table) -> tuple[str, ...]:
    """Columns nulled by suppression: the table's nullable columns."""
    return tuple(c.name for c in table.columns if c.nullable)


def noised_columns(table: Table) -> tuple[str, ...]:
    """Counts released with noise when epsilon is set."""
    return tuple(
        c.name for c in table.columns if c.nullable and c.type == "int64" and c.name not in _UNBOUNDED_COUNTS
    )


def withheld_columns(table: Table) -> tuple[str, ...]:
    """Value columns released as null when epsilon is set (no bounded per-journey sensitivity)."""
    noised = set(noised_columns(table))
    return tuple(c for c in value_columns(table) if c not in noised)


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


def protect_row(
    row: Mapping[str, Any], table: Table, config: PrivacyConfig, uniform: Uniform
) -> dict[str, Any]:
    """The row as released: suppressed if its support is below k, else (optionally) noised.

    uniform: the noise source (`make_uniform`), shared across rows so draws are independent.

    Raises ValueError if the row has no integer support: that is a wiring error, not bad data.
    """
    support = row.get(SUPPORT_COLUMN)
    if not isinstance(support, int) or isinstance(support, bool) or support < 0:
        raise ValueError(
            f"{table.name} row needs a non-negative integer {SUPPORT_COLUMN!r} count, got {support!r}"
        )
    out = dict(row)
    if support < config.k:
        for name in value_columns(table):
            out[name] = None
        out[SUPPRESSED] = True
        return out
    out[SUPPRESSED] = False
    if config.epsilon is None:
        return out
    for name in noised_columns(table):
        value = out.get(name)
        if value is None:
            continue  # not measured for this row (for example no counting line in the zone)
        if config.mechanism == "geometric":
            noisy = int(value) + geometric_noise(uniform, config.epsilon, config.sensitivity)
        else:
            noisy = round(int(value) + laplace_noise(uniform, config.epsilon, config.sensitivity))
        out[name] = max(0, noisy)
    for name in withheld_columns(table):
        out[name] = None
    return out


def sidecar(table: Table, config: PrivacyConfig) -> dict[str, Any]:
    """What `_privacy.json` says about a table: the parameters an analyst needs to read it correctly."""
    record: dict[str, Any] = {
        "table": table.name,
        "written_by": f"anonflow {__version__}",
        "k": config.k,
        "support_column": SUPPORT_COLUMN,
        "suppression": "rows with fewer than k distinct journeys keep their keys; value columns are null "
        "and suppressed is true",
        "suppressed_columns": list(value_columns(table)),
        "differential_privacy": None,
    }
    if config.epsilon is not None:
        record["differential_privacy"] = {
            "mechanism": config.mechanism,
            "epsilon": config.epsilon,
            "sensitivity": config.sensitivity,
            "scale": config.sensitivity / config.epsilon,
            "noised_columns": list(noised_columns(table)),
            "withheld_columns": list(withheld_columns(table)),
            "epsilon_scope": "per released count; a journey in n released counts spends n * epsilon "
            "(in a streaming run with early or late panes, every pane of a day re-draws the noise and "
            "counts as another release)",
            "post_processing": "noisy counts rounded to integers and clamped at 0",
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
        if batch.table != self._table.name:
            raise ValueError(f"rows of table {batch.table} given to the {self._table.name} step")
        rows = tuple(protect_row(row, self._table, self._config, self._uniform) for row in batch.rows)
        hidden = sum(1 for row in rows if row[SUPPRESSED])
        self.suppressed.inc(hidden)
        self.released.inc(len(rows) - hidden)
        yield replace(batch, rows=rows)


class ProtectCells(beam.PTransform):
    """`TableRows` with true counts -> the rows as released (k-suppression, optional noise), counted."""

    def __init__(self, table: Table, config: PrivacyConfig) -> None:
        super().__init__()
        if SUPPORT_COLUMN not in table.column_names:
            raise ValueError(f"table {table.name} has no {SUPPORT_COLUMN!r} column to measure support")
        self._table = table
        self._config = config

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        return batches | "Protect" >> beam.ParDo(_ProtectDoFn(self._table, self._config))
