"""The differentially private release (opt-in): one store-day's table as noisy counts over public keys.

Input: one store-day's `TableRows` with, per row, the journeys behind it. Output: the rows as published.
The privacy unit is one **journey** (a person whom re-connection split into n journeys is protected
with n times the epsilon: group privacy). Per table and granularity:

1. **Public partitions.** The keys come from `anonflow.dataflow.partitions` (stores file, day, contract
   vocabularies, grid), never from the data; rows of other keys are dropped.
2. **Contribution bounding.** A row counts distinct journeys, so one journey adds at most 1 to a cell;
   and it counts in at most `max_cells[granularity]` cells of the table: beyond that, it keeps its
   whole-store ('*') cells first, then the ones ranked first by a hash of its identity and the cell
   (its own data only, so the bound holds whoever else came). The L1 sensitivity of the table's
   count vector is then `max_cells`.
3. **Noise from OpenDP** (`anonflow.dataflow.dpnoise`): discrete Laplace with the scale OpenDP proves
   for that sensitivity and the table-granularity's share of the store-day's epsilon
   (`anonflow.dataflow.dpbudget`).
4. **Post-processing only** after the noise: counts at or below zero are not written (a missing row
   means "about zero"), every other value column is null. Dwell percentiles and means and the heat
   map's observations are not released in this mode, and footfall's `visitors` counts journeys (the
   people estimate depends on the whole day, so one journey's influence on it has no bound).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

from anonflow.contract.tables import Row, Table
from anonflow.dataflow.aggregate.base import CONTRIBUTORS, TableRows
from anonflow.dataflow.dpbudget import DpBudget
from anonflow.dataflow.dpnoise import Noise, laplace_scale
from anonflow.dataflow.journeys import STORE_ZONE
from anonflow.dataflow.ledger import ReleaseLedger
from anonflow.dataflow.partitions import GRANULARITIES, PublicVocabulary, key_columns, public_keys
from anonflow.dataflow.release import SUPPORT_COLUMN, SUPPRESSED_COLUMN
from anonflow.dataflow.support import Contributor
from anonflow.dataflow.windows import Granularity


@dataclass(frozen=True, slots=True)
class DpOutcome:
    """What one release did: rows written, keys outside the public set, journey-cells cut by the bound."""

    released: int
    off_vocabulary: int
    truncated: int


def _rank(identity: str, key: tuple[object, ...]) -> tuple[bool, bytes]:
    """Whole-store rows first (the headline loses nothing to the bound), then a hash of journey and row."""
    return STORE_ZONE not in key, hashlib.blake2b(f"{identity}\x00{key!r}".encode(), digest_size=8).digest()


def bounded_counts(
    members: Sequence[frozenset[int]],
    keys: Sequence[tuple[object, ...]],
    contributors: Sequence[Contributor],
    max_cells: int,
) -> tuple[list[int], int]:
    """Distinct journeys per cell after each journey keeps at most `max_cells` cells; and how many
    journey-cells were cut. members[i]: journeys behind cell i (keys[i])."""
    cells_of: dict[int, list[int]] = defaultdict(list)
    for cell, journeys in enumerate(members):
        for journey in journeys:
            cells_of[journey].append(cell)
    counts = [0] * len(members)
    cut = 0
    for journey, touched in cells_of.items():
        kept = touched
        if len(touched) > max_cells:
            identity = contributors[journey].identity
            kept = sorted(touched, key=lambda c: _rank(identity, keys[c]))[:max_cells]
            cut += len(touched) - max_cells
        for cell in kept:
            counts[cell] += 1
    return counts, cut


@lru_cache(maxsize=64)
def _cells(
    table: Table, vocabulary: PublicVocabulary, day: str, granularity: Granularity
) -> tuple[tuple[Row, ...], tuple[tuple[object, ...], ...], dict[tuple[object, ...], int]]:
    """The public keys of a table-granularity-day (read only), their key tuples, and each tuple's index.
    Cached: a streaming job releases each store-day once, but the attacker suite many times."""
    public = tuple(public_keys(table, vocabulary, day, granularity))
    columns = key_columns(table)
    keys = tuple(tuple(key[c] for c in columns) for key in public)
    return public, keys, {key: i for i, key in enumerate(keys)}


def dp_release(
    batch: TableRows, table: Table, budget: DpBudget, vocabulary: PublicVocabulary, noise: Noise
) -> tuple[TableRows, DpOutcome]:
    """The batch as published under differential privacy (see the module docstring)."""
    if batch.table != table.name:
        raise ValueError(f"rows of table {batch.table} given to the {table.name} step")
    columns = key_columns(table)
    granularities = GRANULARITIES[table.name]
    published = tuple(g.value for g in granularities)
    by_granularity: dict[str, list[Row]] = defaultdict(list)
    for row in batch.rows:
        by_granularity[row["granularity"]].append(row)
    out: list[Row] = []
    off_vocabulary = truncated = 0
    for granularity in granularities:
        public, keys, index = _cells(table, vocabulary, batch.date, granularity)
        members: list[frozenset[int]] = [frozenset()] * len(keys)
        for row in by_granularity.pop(granularity.value, []):
            cell = index.get(tuple(row[c] for c in columns))
            if cell is None:
                off_vocabulary += 1
                continue
            members[cell] = row[CONTRIBUTORS]
        epsilon = budget.epsilon_of(table.name, granularity.value, published)
        if epsilon == 0.0:  # a share of 0: this granularity is not published in this mode
            continue
        max_cells = budget.max_cells[granularity.value]
        counts, cut = bounded_counts(members, keys, batch.contributors, max_cells)
        truncated += cut
        noisy = noise(counts, laplace_scale(max_cells, epsilon))
        empty = dict.fromkeys(c.name for c in table.columns if c.nullable)
        for key, value in zip(public, noisy, strict=True):
            if value > 0:
                out.append({**key, **empty, SUPPORT_COLUMN: value, SUPPRESSED_COLUMN: False})
    off_vocabulary += sum(len(rows) for rows in by_granularity.values())
    outcome = DpOutcome(len(out), off_vocabulary, truncated)
    return replace(batch, rows=tuple(out), contributors=()), outcome


@dataclass(frozen=True, slots=True)
class Once:
    """What `release_once` did: the published batch and its outcome, or why nothing was published
    ("early": a streaming pane before the day is complete; "refused": the day was released before)."""

    published: TableRows | None
    outcome: DpOutcome | None
    held: Literal["", "early", "refused"] = ""


def release_once(
    batch: TableRows,
    table: Table,
    budget: DpBudget,
    vocabulary: PublicVocabulary,
    *,
    ledger: ReleaseLedger,
    noise: Noise,
) -> Once:
    """`dp_release` at most once per table, store and date: early panes are held, the first complete
    pane claims the day in the ledger, every later pane and re-run is refused (the first release stays)."""
    if batch.timing == "early":
        return Once(None, None, "early")
    claim = {"pane": batch.pane, "timing": batch.timing, "epsilon": budget.epsilon}
    if not ledger.claim(table.name, batch.store_id, batch.date, claim):
        return Once(None, None, "refused")
    published, outcome = dp_release(batch, table, budget, vocabulary, noise)
    return Once(published, outcome)
