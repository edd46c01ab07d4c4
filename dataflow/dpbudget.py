"""The differential-privacy budget of one store-day: how much privacy loss one journey may cause, and how
it is split across tables and granularities; how many cells one journey may touch.

The whole budget `epsilon` is spent once per store-day (one release per store-day and table, see
`anonflow.dataflow.ledger`). Table shares and granularity shares each sum to 1; a table that publishes
only some granularities (the heat map: hour and day) spends its whole share over those, pro rata. A
share of 0 leaves that table or granularity out of the DP release (e.g. `5m=0`: no five-minute rows,
whose counts would be almost pure noise, and more budget for the hours). By
sequential composition the releases of a store-day together cost at most `epsilon` per journey.
"""

from __future__ import annotations

import math
from typing import Final

from pydantic import Field, ValidationError, field_validator, model_validator

from anonflow.contract.settings import StrictModel, first_problem
from anonflow.contract.tables import ANALYST_TABLES
from anonflow.dataflow.windows import Granularity

TABLE_NAMES: Final = tuple(t.name for t in ANALYST_TABLES)
GRANULARITY_NAMES: Final = tuple(g.value for g in Granularity)
_SUM_TOLERANCE: Final = 1e-6

DEFAULT_TABLE_SPLIT: Final = {
    "footfall": 0.8,
    "dwell": 0.05,
    "demographics": 0.05,
    "flows": 0.05,
    "heatmap": 0.05,
}
"""Footfall's store visitors are the headline, so they get most of the budget: with it, hourly store
visitors stay within the 5 % error goal at epsilon 1 on the benchmark day (bench/privacy.py); the other
tables are published, much noisier, for their shape rather than their numbers."""
DEFAULT_GRANULARITY_SPLIT: Final = {"5m": 0.0, "1h": 0.9, "1d": 0.1}
"""Hours are what a store manager reads; five-minute cells would be almost pure noise at any useful
budget, so by default they are not published in this mode (a share of 0)."""
DEFAULT_MAX_CELLS: Final = {"5m": 12, "1h": 3, "1d": 2}
"""Cells one journey may count in, per table and granularity: an hour-long visit touches two hours of
the whole store and a zone or so; more is truncated (whole-store cells are kept first, so zone cells
undercount long multi-zone visits)."""


def parse_split(text: str, what: str) -> dict[str, float]:
    """`name=value,name=value` as a dict; ValueError (one line) when malformed."""
    split: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"{what}: {part!r} is not name=value (e.g. footfall=0.5,dwell=0.5)")
        try:
            split[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"{what}: {value.strip()!r} is not a number") from None
    return split


def _check_split(split: dict[str, float], names: tuple[str, ...], what: str) -> dict[str, float]:
    unknown = sorted(set(split) - set(names))
    if unknown:
        raise ValueError(f"{what}: unknown {', '.join(unknown)} (known: {', '.join(names)})")
    missing = [n for n in names if n not in split]
    if missing:
        raise ValueError(f"{what}: no share for {', '.join(missing)}")
    bad = [f"{n}={v}" for n, v in split.items() if not (math.isfinite(v) and 0.0 <= v <= 1.0)]
    if bad:
        raise ValueError(f"{what}: shares must lie in [0, 1], got {', '.join(bad)}")
    total = sum(split.values())
    if abs(total - 1.0) > _SUM_TOLERANCE:
        raise ValueError(f"{what}: shares must sum to 1, got {total:g}")
    return split


class DpBudget(StrictModel):
    """The privacy budget per store-day and its split (differential-privacy mode)."""

    epsilon: float = Field(
        gt=0.0,
        le=10.0,
        description="Privacy loss one journey may cause per store-day, over all tables (0 < epsilon <= 10).",
    )
    tables: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_TABLE_SPLIT),
        description="Share of epsilon per table; every analyst table, shares summing to 1.",
    )
    granularities: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_GRANULARITY_SPLIT),
        description="Share of a table's epsilon per granularity (5m, 1h, 1d), summing to 1.",
    )
    max_cells: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_MAX_CELLS),
        description="Most cells one journey counts in, per table and granularity (contribution bound).",
    )

    @field_validator("tables")
    @classmethod
    def _tables_sum(cls, value: dict[str, float]) -> dict[str, float]:
        return _check_split(value, TABLE_NAMES, "table split")

    @field_validator("granularities")
    @classmethod
    def _granularities_sum(cls, value: dict[str, float]) -> dict[str, float]:
        return _check_split(value, GRANULARITY_NAMES, "granularity split")

    @model_validator(mode="after")
    def _bounds(self) -> DpBudget:
        unknown = sorted(set(self.max_cells) - set(GRANULARITY_NAMES))
        missing = [g for g in GRANULARITY_NAMES if g not in self.max_cells]
        if unknown or missing:
            raise ValueError(f"max cells: give exactly {', '.join(GRANULARITY_NAMES)}")
        bad = [f"{g}={n}" for g, n in self.max_cells.items() if not 1 <= n <= 10_000]
        if bad:
            raise ValueError(f"max cells must lie in 1..10000, got {', '.join(bad)}")
        return self

    def epsilon_of(self, table: str, granularity: str, published: tuple[str, ...]) -> float:
        """The epsilon one table spends on one granularity; `published`: the table's granularities.
        0: that table or granularity is not published in this mode (a share of 0)."""
        of_table = sum(self.granularities[g] for g in published)
        if of_table == 0.0:
            return 0.0
        return self.epsilon * self.tables[table] * self.granularities[granularity] / of_table


def budget_from_options(
    epsilon: float | None, tables: str | None, granularities: str | None, max_cells: str | None
) -> DpBudget | None:
    """The budget from the job's `--dp_*` options (None: no --dp_epsilon, the k-anonymous release);
    ValueError (one line, naming the option) when they do not make one."""
    if epsilon is None:
        if tables is not None or granularities is not None or max_cells is not None:
            raise ValueError("--dp_table_split, --dp_granularity_split and --dp_max_cells need --dp_epsilon")
        return None
    fields: dict[str, object] = {"epsilon": epsilon}
    for name, option, text in (
        ("tables", "--dp_table_split", tables),
        ("granularities", "--dp_granularity_split", granularities),
        ("max_cells", "--dp_max_cells", max_cells),
    ):
        if text is not None:
            try:
                split = parse_split(text, option)
            except ValueError as error:
                raise ValueError(str(error)) from None
            if name == "max_cells" and not all(v.is_integer() for v in split.values()):
                raise ValueError(f"{option}: cell counts must be whole numbers")
            fields[name] = {k: int(v) for k, v in split.items()} if name == "max_cells" else split
    try:
        return DpBudget.model_validate(fields)
    except ValidationError as error:
        problem = first_problem(error)
        option = {"epsilon": "--dp_epsilon", "tables": "--dp_table_split"}.get(problem.path, "")
        option = option or {"granularities": "--dp_granularity_split"}.get(problem.path, "--dp_max_cells")
        raise ValueError(f"{option}: {problem.text.removeprefix('Value error, ')}") from None
