"""Reports the model tools print and write: JSON-ready values and short text tables."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def json_ready(value: Any) -> Any:
    """`value` with numpy scalars made plain and nan written as None (strict JSON has no NaN)."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    return value


def table(rows: Sequence[tuple[str, ...]]) -> str:
    """Left-aligned columns, two spaces apart; the first row is the header."""
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
