"""Output privacy, as one Beam step per table: the k-anonymous release (default) or, opt-in, the
differentially private one.

- **k-anonymous** (`anonflow.dataflow.release`): rows backed by fewer than k people (at the fewest) are
  not published, released counts are perturbed by the cell-key method, small-group statistics are
  coarse and unbounded sums withheld.
- **Differentially private** (`anonflow.dataflow.dprelease`, when `dp` is set): noisy counts from
  OpenDP over public partitions, contributions bounded per journey, the store-day's epsilon split
  across tables and granularities, one release per store-day and table (`anonflow.dataflow.ledger`:
  early streaming panes are not released, a later pane or a re-run of a released day is refused).

`_privacy.json` next to each table records the parameters an analyst needs to read it. The cell-key
secret comes from `ANONFLOW_CELL_KEY_SECRET` (hex, at least 16 bytes); without it each run draws its
own, so two runs over the same day give independently perturbed tables (recorded as `"per_run"`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any, Final

import apache_beam as beam
from apache_beam.metrics import Metrics
from pydantic import Field, model_validator

from anonflow import __version__
from anonflow.contract.settings import StrictModel
from anonflow.contract.tables import Table
from anonflow.dataflow.aggregate.base import TableRows
from anonflow.dataflow.cellkey import PERTURBATION
from anonflow.dataflow.dpbudget import DpBudget
from anonflow.dataflow.dpnoise import Noise, OpenDpNoise, laplace_scale, privacy_loss
from anonflow.dataflow.dprelease import release_once
from anonflow.dataflow.ledger import ReleaseLedger
from anonflow.dataflow.partitions import GRANULARITIES, PublicVocabulary, unpublished
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
    ship_secret: bool = Field(
        False,
        description="Send the deployment's secret to the workers inside the pipeline (runners whose "
        "workers cannot have it in their environment); otherwise they read it themselves.",
    )
    dp: DpBudget | None = Field(
        None, description="Differentially private release with this budget; None: the k-anonymous one."
    )

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


def protect(batch: TableRows, table: Table, config: PrivacyConfig) -> tuple[TableRows, int]:
    """The batch as published by the k-anonymous release and the number of rows hidden."""
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
    return released, hidden


def _k_anonymous_sidecar(table: Table, config: PrivacyConfig) -> dict[str, Any]:
    return {
        "mode": "k-anonymous",
        "differentially_private": False,
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
    }


def _dp_sidecar(table: Table, budget: DpBudget) -> dict[str, Any]:
    published = tuple(g.value for g in GRANULARITIES[table.name])
    granularities: dict[str, dict[str, Any]] = {}
    for granularity in published:
        epsilon = budget.epsilon_of(table.name, granularity, published)
        bound = budget.max_cells[granularity]
        if epsilon == 0.0:
            granularities[granularity] = {"epsilon": 0.0, "published": False}
            continue
        scale = laplace_scale(bound, epsilon)
        granularities[granularity] = {
            "epsilon": epsilon,
            "max_cells_per_journey": bound,
            "l1_sensitivity": bound,
            "noise_scale": scale,
            "epsilon_proved_by_opendp": privacy_loss(bound, scale),
            "published": True,
        }
    return {
        "mode": "differentially-private",
        "differentially_private": True,
        "privacy_unit": "one journey (a person split into n journeys: n times epsilon)",
        "epsilon_per_store_day": budget.epsilon,
        "table_split": budget.tables,
        "granularity_split": budget.granularities,
        "table_epsilon": budget.epsilon * budget.tables[table.name],
        "granularities": granularities,
        "mechanism": "discrete Laplace on distinct-journey counts (OpenDP make_laplace)",
        "partitions": "public: zones and cameras of the stores file, the day's windows, the contract's "
        "gender and age-group vocabularies, the heat-map grid; a missing row means a noisy count <= 0",
        "released_columns": [SUPPORT_COLUMN],
        "withheld_columns": [c.name for c in table.columns if c.nullable and c.name != SUPPORT_COLUMN],
        "releases": "one per store-day and table: early streaming panes are not released; a later pane "
        "or a re-run of a released day is refused (the first release stays)",
    }


def sidecar(table: Table, config: PrivacyConfig) -> dict[str, Any]:
    """What `_privacy.json` says about a table: the parameters an analyst needs to read it correctly."""
    mode = _dp_sidecar(table, config.dp) if config.dp else _k_anonymous_sidecar(table, config)
    return {"table": table.name, "written_by": f"anonflow {__version__}", **mode}


def _written(path: str) -> dict[str, Any] | None:
    from apache_beam.io.filesystems import FileSystems

    if not FileSystems.exists(path):
        return None
    try:
        with FileSystems.open(path) as handle:
            found = json.loads(handle.read())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def check_sidecar(table_root: str, table: Table, config: PrivacyConfig) -> None:
    """Raise ValueError (one line) if the table already holds a differentially private release under
    other parameters (or the k-anonymous mode is asked for): its first releases stay (see
    `anonflow.dataflow.ledger`), so its sidecar must keep describing them; write to another output."""
    from apache_beam.io.filesystems import FileSystems

    path = FileSystems.join(table_root, SIDECAR_NAME)
    before = _written(path)
    if before is None or not before.get("differentially_private"):
        return
    record = sidecar(table, config)
    changed = sorted(k for k in {*before, *record} - {"written_by"} if before.get(k) != record.get(k))
    if changed:
        raise ValueError(
            f"{path} describes a differentially private release with other parameters "
            f"({', '.join(changed[:4])}); its days stay as released: write to another --output"
        )


def write_sidecar(table_root: str, table: Table, config: PrivacyConfig) -> str:
    """Write `<table_root>/_privacy.json` (local path or any Beam filesystem URL); returns its path."""
    from apache_beam.io.filesystems import FileSystems

    if "://" not in table_root and not FileSystems.exists(table_root):
        FileSystems.mkdirs(table_root)  # object stores have no directories to make
    path = FileSystems.join(table_root, SIDECAR_NAME)
    with FileSystems.create(path, mime_type="application/json") as handle:
        handle.write(json.dumps(sidecar(table, config), indent=2, sort_keys=True).encode("utf-8"))
    return path


def secret_fingerprint(secret: bytes) -> str:
    """A short public name of a secret (SHA-256 of a fixed label under it): tells two copies apart
    without revealing either."""
    return hmac.new(secret, b"anonflow cell-key fingerprint", hashlib.sha256).hexdigest()[:16]


class _ProtectDoFn(beam.DoFn):
    """Why the deployment's secret is not in this object: a runner stores the pickled pipeline (Flink
    keeps the job graph in its recovery storage), so the secret would be kept wherever that lives. The
    workers have it in their own environment (the same launcher starts them); they read it in `setup`
    and check it is the driver's by fingerprint. A per-run secret exists nowhere else, so it travels, and
    so does the deployment's when the job is told to ship it (`--ship_cell_key`: Dataflow)."""

    def __init__(
        self,
        table: Table,
        config: PrivacyConfig,
        vocabularies: Mapping[str, PublicVocabulary],
        ledger: ReleaseLedger | None,
        noise: Noise,
    ) -> None:
        self._table = table
        kept_back = config.secret_persistent and not config.ship_secret
        self._fingerprint = secret_fingerprint(config.secret) if kept_back else None
        # model_copy skips validation: the blank stands in until setup() reads the worker's secret.
        self._config = config.model_copy(update={"secret": b""}) if kept_back else config
        self._vocabularies = dict(vocabularies)
        self._ledger = ledger
        self._noise = noise
        self.suppressed = Metrics.counter("anonflow", f"cells_suppressed_{table.name}")
        self.released = Metrics.counter("anonflow", f"cells_released_{table.name}")
        self.refused = Metrics.counter("anonflow", f"dp_releases_refused_{table.name}")
        self.early = Metrics.counter("anonflow", f"dp_early_panes_held_{table.name}")
        self.off_vocabulary = Metrics.counter("anonflow", f"dp_rows_off_vocabulary_{table.name}")
        self.truncated = Metrics.counter("anonflow", f"dp_contributions_truncated_{table.name}")

    def setup(self) -> None:
        if self._fingerprint is None:
            return
        try:
            worker = PrivacyConfig.from_environment()
        except ValueError as error:
            raise RuntimeError(f"this worker's cell-key secret is unusable: {error}") from None
        if not worker.secret_persistent or secret_fingerprint(worker.secret) != self._fingerprint:
            raise RuntimeError(
                f"this worker's {SECRET_ENV} is missing or differs from the job's: every worker must "
                "run with the deployment's secret (start it through anonflow.dataflow.cellsecret)"
            )
        self._config = self._config.model_copy(update={"secret": worker.secret})

    def process(self, batch: TableRows) -> Iterator[TableRows]:
        budget = self._config.dp
        vocabulary = self._vocabularies.get(batch.store_id)
        if budget is None:
            released, hidden = protect(batch, self._table, self._config)
            self.suppressed.inc(hidden)
            self.released.inc(len(released.rows))
            yield self._with_unpublished(released, vocabulary)
            return
        if vocabulary is None:
            raise ValueError(f"store {batch.store_id!r} has no public vocabulary for the DP release")
        assert self._ledger is not None
        once = release_once(batch, self._table, budget, vocabulary, ledger=self._ledger, noise=self._noise)
        if once.held == "early":  # the day is not complete; its one release comes later
            self.early.inc()
        elif once.held == "refused":
            self.refused.inc()
        if once.published is None or once.outcome is None:
            return
        self.released.inc(once.outcome.released)
        self.off_vocabulary.inc(once.outcome.off_vocabulary)
        self.truncated.inc(once.outcome.truncated)
        yield self._with_unpublished(once.published, vocabulary)

    def _with_unpublished(self, batch: TableRows, vocabulary: PublicVocabulary | None) -> TableRows:
        """The released batch with its count of unpublished grid cells (when the store's grid is public)."""
        if vocabulary is None:
            return batch
        counts = unpublished(batch.rows, self._table, vocabulary, batch.date)
        if (budget := self._config.dp) is not None:  # granularities left out of the DP release entirely
            name = self._table.name
            published = tuple(g.value for g in GRANULARITIES[name])
            counts = {g: n for g, n in counts.items() if budget.epsilon_of(name, g, published) > 0}
        return replace(batch, unpublished=tuple(sorted(counts.items())))


class ProtectCells(beam.PTransform):
    """`TableRows` with true counts -> the rows as published (see the module docstring), counted.

    The DP mode needs every store's public vocabulary and the release ledger; noise: OpenDP's sampler
    unless a test passes another."""

    def __init__(
        self,
        table: Table,
        config: PrivacyConfig,
        *,
        vocabularies: Mapping[str, PublicVocabulary] | None = None,
        ledger: ReleaseLedger | None = None,
        noise: Noise | None = None,
    ) -> None:
        super().__init__()
        if SUPPORT_COLUMN not in table.column_names:
            raise ValueError(f"table {table.name} has no {SUPPORT_COLUMN!r} column to measure support")
        if config.dp is not None and (vocabularies is None or ledger is None):
            raise ValueError("the differentially private release needs the stores' vocabularies and a ledger")
        self._do = _ProtectDoFn(table, config, vocabularies or {}, ledger, noise or OpenDpNoise())

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        return batches | "Protect" >> beam.ParDo(self._do)
