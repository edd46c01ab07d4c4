"""The cell-key method: consistent, controlled perturbation of released counts.

This is the method national statistics offices use for flexible tables (the Australian Bureau of
Statistics' TableBuilder, the UK census): every record carries a secret random *record key*; a cell's key
is the sum of its records' keys modulo 1, so it is uniform and secret, and it is the same wherever the
same records meet. The perturbation a count gets is looked up from a fixed table by the cell key.

Why it resists the differencing attacks that k-suppression alone fails:
- a hidden cell can only be derived as a difference of released cells (a day minus its hours, a zone's
  total minus its gender rows, the store minus its zones); each of those carries its own perturbation,
  so the difference is the hidden value plus noise that covers 0 and the hidden value alike;
- the perturbation is a function of *who* is in the cell and which cell it is, not of the run, so
  asking again (a re-run, a later streaming pane) returns the same value: there is nothing to average
  away;
- the secret key lives only in the job (`ANONFLOW_CELL_KEY_SECRET`), never with the tables.

Record keys are HMAC-SHA256(secret, store-day, journey identity), 32 bits.
"""

from __future__ import annotations

import hashlib
import hmac
from bisect import bisect_right
from collections.abc import Iterable
from itertools import accumulate
from typing import Final

KEY_BITS: Final = 32
_MODULUS: Final = 1 << KEY_BITS

PERTURBATION: Final[tuple[tuple[int, float], ...]] = (
    (-3, 0.02),
    (-2, 0.08),
    (-1, 0.20),
    (0, 0.40),
    (1, 0.20),
    (2, 0.08),
    (3, 0.02),
)
"""The p-table: offset and probability. Mean 0, variance 1.4, mean |offset| 0.84."""
_OFFSETS: Final = tuple(offset for offset, _ in PERTURBATION)
_CUMULATIVE: Final = tuple(accumulate(p for _, p in PERTURBATION))


def record_key(secret: bytes, scope: str, identity: str) -> int:
    """A record's secret key in [0, 2^32): HMAC of the store-day scope and the journey identity."""
    digest = hmac.new(secret, f"{scope}\x00{identity}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big")


def _salt(cell: str) -> int:
    return int.from_bytes(hashlib.sha256(cell.encode()).digest()[:4], "big")


def cell_key(record_keys: Iterable[int], cell: str) -> float:
    """The cell's key in [0, 1): its records' keys summed modulo 2^32, plus a salt naming the cell.

    cell: the table, the row's public key and the column. Salting by the cell keeps a re-run or a later
    pane of the same row exact to the earlier one, while two *different* rows with the same people (an
    hour and its only released five minutes, a zone's total and its one demographic row) draw
    independent offsets: were they equal, equality itself would tell an analyst that no hidden person
    differs between them.
    """
    return ((sum(record_keys) + _salt(cell)) % _MODULUS) / _MODULUS


def offset(key: float) -> int:
    """The p-table offset for a cell key (inverse CDF)."""
    return _OFFSETS[min(bisect_right(_CUMULATIVE, key), len(_OFFSETS) - 1)]


def perturb(value: int, key: float, floor: int) -> int:
    """value + offset(key), never below `floor`; a true zero stays zero (structural, not disclosive)."""
    if value == 0:
        return 0
    return max(floor, value + offset(key))
