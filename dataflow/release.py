"""The k-anonymous release: which rows of a table an analyst may see, and with what values.

Input: one store-day's `TableRows` with true counts and, per row, the journeys behind it. Output: the
rows as published. The rules, each against an attack in tests/dataflow/test_release.py:

1. **Support counts people.** A row's support is the fewest people who could have made its journeys
   (`anonflow.dataflow.support`), not its journey count.
2. **Rows below k are not published at all.** A suppressed row's key is itself sensitive (the row
   "fitting room, 10:00, male, 55+" says such a person was there), so nothing of it is written; a
   missing row means "fewer than k people, possibly none".
3. **Every released count is perturbed by the cell-key method** (`anonflow.dataflow.cellkey`), so no
   hidden cell can be derived exactly as a difference of released ones (rows of a zone against its
   total, hours against the day, zones against the store, one table against another), and asking again
   returns the same value. Released support never shows less than k.
4. **Small-group statistics are coarse.** Dwell percentiles and means only where at least
   `dwell_min_support` people back the row, rounded to `dwell_round_s`: three statistics of three
   stays solve for all three; of ten, rounded, they do not.
5. **Unbounded sums are withheld.** Heat-map foot-point observations grow with how long one person
   stood still; one person's contribution cannot be bounded, so differencing would recover it through any
   small perturbation. The cell's people count (`visitors`) carries the density instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Final

from anonflow.contract.tables import Table
from anonflow.dataflow.aggregate.base import CONTRIBUTORS, Row, TableRows
from anonflow.dataflow.cellkey import cell_key, perturb, record_key
from anonflow.dataflow.support import Contributor, fewest_people

SUPPORT_COLUMN: Final = "visitors"
SUPPRESSED_COLUMN: Final = "suppressed"
WITHHELD: Final = frozenset({"observations"})
"""Columns never published: one person's contribution to them is unbounded."""


def counted_columns(table: Table) -> tuple[str, ...]:
    """Count columns published with cell-key perturbation."""
    return tuple(c.name for c in table.columns if c.nullable and c.type == "int64" and c.name not in WITHHELD)


def statistic_columns(table: Table) -> tuple[str, ...]:
    """Small-group statistics (dwell seconds): published coarsely and only with enough support."""
    return tuple(c.name for c in table.columns if c.nullable and c.type == "double")


def withheld_columns(table: Table) -> tuple[str, ...]:
    return tuple(c.name for c in table.columns if c.name in WITHHELD)


def support(row: Mapping[str, Any], contributors: Sequence[Contributor]) -> int:
    """A lower bound on the people behind a row. Raises ValueError if the row does not say who is."""
    members = row.get(CONTRIBUTORS)
    if not isinstance(members, frozenset):
        raise ValueError(f"row has no {CONTRIBUTORS!r} set of journeys; disclosure control needs it")
    try:
        return fewest_people(contributors[i] for i in members)
    except IndexError:
        raise ValueError(f"row names journey indices beyond the day's {len(contributors)}") from None


def _round(value: float, step: float) -> float:
    return round(value / step) * step


def release_row(
    row: Mapping[str, Any],
    table: Table,
    record_keys: Sequence[int],
    *,
    k: int,
    dwell_min_support: int,
    dwell_round_s: float,
    people: int,
) -> Row:
    """One row (support `people` >= k) as published: public keys, perturbed counts, coarse statistics."""
    members = row[CONTRIBUTORS]
    keys = [record_keys[i] for i in members]
    values = set(counted_columns(table)) | set(statistic_columns(table)) | set(withheld_columns(table))
    public = "|".join(str(row.get(c)) for c in table.column_names if c not in values)
    out: Row = {name: row.get(name) for name in table.column_names}
    out[SUPPRESSED_COLUMN] = False
    for name in counted_columns(table):
        value = row.get(name)
        if value is not None:
            floor = k if name == SUPPORT_COLUMN else 0
            out[name] = perturb(int(value), cell_key(keys, f"{table.name}|{public}|{name}"), floor)
    for name in statistic_columns(table):
        value = row.get(name)
        out[name] = None if value is None or people < dwell_min_support else _round(value, dwell_round_s)
    for name in withheld_columns(table):
        out[name] = None
    return out


def release(
    batch: TableRows,
    table: Table,
    secret: bytes,
    *,
    k: int,
    dwell_min_support: int,
    dwell_round_s: float,
) -> tuple[TableRows, int]:
    """The batch as published (rows below k people dropped) and how many rows were hidden."""
    scope = f"{batch.store_id}/{batch.date}"
    record_keys = [record_key(secret, scope, c.identity) for c in batch.contributors]
    rows: list[Row] = []
    hidden = 0
    for row in batch.rows:
        people = support(row, batch.contributors)
        if people < k:
            hidden += 1
            continue
        rows.append(
            release_row(
                row,
                table,
                record_keys,
                k=k,
                dwell_min_support=dwell_min_support,
                dwell_round_s=dwell_round_s,
                people=people,
            )
        )
    return replace(batch, rows=tuple(rows), contributors=()), hidden
