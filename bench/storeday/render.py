"""NDJSON lines of the entry contract from numpy columns, as fixed-width byte matrices.

Every field is written at a fixed width (numbers as fixed-point digits, short strings padded with spaces,
which JSON allows between tokens), so a block of rows is one numpy byte matrix and a million entries
render in seconds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.storeday.layout import (
    AGE_BANDS,
    BODY_ANCHORS,
    CAMERAS,
    CROSSINGS,
    ENTRY_SCHEMA_VERSION,
    GENDERS,
    ORIENTATIONS,
    PRODUCER,
    zone_names,
)


def render_rows(
    columns: Mapping[str, npt.NDArray[Any]],
    track_ids: npt.NDArray[np.bytes_],
    store_id: str,
    groups: int,
) -> bytes:
    """The given rows (columns already sliced) as NDJSON lines in the entry contract's field order."""
    c = columns
    lit = _Literal(len(c["entry_id"]))
    crossing = np.where(c["crossing"] > 0, 1, np.where(c["crossing"] < 0, 2, 0))
    blocks = [
        lit(f'{{"schema_version":{ENTRY_SCHEMA_VERSION},"entry_id":"'),
        _bytes(c["entry_id"]),
        lit(f'","store_id":{json.dumps(store_id)},"camera_id":'),
        _tokens([json.dumps(name) for name in CAMERAS], c["camera"]),
        lit(',"track_id":"'),
        _bytes(track_ids[c["track"]]),
        lit('","event_time_ms":'),
        _integer(c["event_time_ms"], 13),
        lit(',"box":{"x_min":'),
        _fixed(c["x_min"], 4),
        lit(',"y_min":'),
        _fixed(c["y_min"], 4),
        lit(',"x_max":'),
        _fixed(c["x_max"], 4),
        lit(',"y_max":'),
        _fixed(c["y_max"], 4),
        lit('},"foot":{"x":'),
        _fixed(c["foot_x"], 4),
        lit(',"y":'),
        _fixed(c["foot_y"], 4),
        lit('},"keypoints":{'),
    ]
    for i, (name, _, _) in enumerate(BODY_ANCHORS):
        blocks += [
            lit(f'{"," if i else ""}"{name}":{{"x":'),
            _fixed(c["keypoints"][:, i, 0], 4),
            lit(',"y":'),
            _fixed(c["keypoints"][:, i, 1], 4),
            lit(',"score":'),
            _fixed(c["keypoints"][:, i, 2], 3),
            lit("}"),
        ]
    blocks += [
        lit('},"orientation":'),
        _tokens([json.dumps(o.value) for o in ORIENTATIONS], c["orientation"]),
        lit(',"demographics":{"gender":'),
        _tokens([json.dumps(g.value) for g in GENDERS], c["gender"]),
        lit(',"age_band":'),
        _tokens([json.dumps(a.value) for a in AGE_BANDS], c["age_band"]),
        lit(',"attributes":{"male":'),
        _fixed(c["p_male"], 3),
        lit('}},"appearance_group":'),
        _integer(c["group"], 5),
        lit(f',"appearance_groups":{groups},"zones":'),
        _tokens([json.dumps([z]) for z in zone_names()], c["zone"]),
        lit(',"line_crossings":'),
        _tokens([compact(x) for x in CROSSINGS], crossing),
        lit(',"producer":' + compact(PRODUCER) + "}\n"),
    ]
    return np.concatenate(blocks, axis=1).tobytes()


def compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


class _Literal:
    """The same text on every one of n rows, as a broadcast (n, len) byte matrix."""

    def __init__(self, rows: int) -> None:
        self.rows = rows

    def __call__(self, text: str) -> npt.NDArray[np.uint8]:
        row = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        return np.broadcast_to(row, (self.rows, len(row)))


def _bytes(values: npt.NDArray[np.bytes_]) -> npt.NDArray[np.uint8]:
    """Fixed-width byte strings (hex ids) as a byte matrix."""
    width = values.dtype.itemsize
    return np.frombuffer(np.ascontiguousarray(values).tobytes(), dtype=np.uint8).reshape(len(values), width)


def _fixed(values: npt.NDArray[np.float64], decimals: int) -> npt.NDArray[np.uint8]:
    """Numbers in [0, 1] as "d.dddd" with a fixed number of decimals."""
    scale = 10**decimals
    k = np.rint(np.clip(values, 0.0, 1.0) * scale).astype(np.int64)
    out = np.empty((len(values), decimals + 2), dtype=np.uint8)
    out[:, 0] = 48 + k // scale
    out[:, 1] = ord(".")
    for j in range(decimals):
        out[:, 2 + j] = 48 + (k // 10 ** (decimals - 1 - j)) % 10
    return out


def _integer(values: npt.NDArray[np.int64], width: int) -> npt.NDArray[np.uint8]:
    """Non-negative integers right-aligned in `width` characters, padded with leading spaces."""
    out = np.empty((len(values), width), dtype=np.uint8)
    remaining = values.astype(np.int64)
    for j in range(width - 1, -1, -1):
        out[:, j] = np.where((remaining > 0) | (j == width - 1), 48 + remaining % 10, ord(" "))
        remaining = remaining // 10
    if np.any(remaining):
        raise ValueError(f"a value does not fit in {width} digits")
    return out


def _tokens(tokens: Sequence[str], index: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    """One of a few JSON tokens per row, padded with trailing spaces to the longest."""
    width = max(len(t) for t in tokens)
    table = np.frombuffer("".join(t.ljust(width) for t in tokens).encode("ascii"), dtype=np.uint8)
    return table.reshape(len(tokens), width)[index]
