"""People counted per frame against labels: RMSE and MAE over the labelled frames."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from anonflow.contract.errors import InputError


def read_counts(path: Path) -> dict[int, int]:
    """{frame index: labelled people} from a CSV with header `frame,count`; InputError on a bad line."""
    if not path.is_file():
        raise InputError(f"counts file {path} does not exist")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or [f.strip() for f in reader.fieldnames] != ["frame", "count"]:
            raise InputError(f"counts file {path} must have the header frame,count, got {reader.fieldnames}")
        counts: dict[int, int] = {}
        for line, row in enumerate(reader, start=2):
            try:
                frame, count = int(row["frame"]), int(row["count"])
            except (TypeError, ValueError):
                raise InputError(f"{path}:{line}: frame and count must be whole numbers, got {row}") from None
            if frame < 0 or count < 0:
                raise InputError(f"{path}:{line}: frame and count must not be negative")
            if frame in counts:
                raise InputError(f"{path}:{line}: frame {frame} is labelled twice")
            counts[frame] = count
    if not counts:
        raise InputError(f"counts file {path} has no rows")
    return counts


@dataclass(frozen=True, slots=True)
class CountAgreement:
    """Counted minus labelled people over `frames` labelled frames."""

    frames: int
    rmse: float
    mae: float
    bias: float  # mean of counted - labelled: negative means people are missed

    def as_dict(self) -> dict[str, float | int]:
        return {"frames": self.frames, "rmse": self.rmse, "mae": self.mae, "bias": self.bias}


def count_agreement(labelled: dict[int, int], counted: dict[int, int]) -> CountAgreement:
    """Agreement over the labelled frames; every labelled frame must have been counted."""
    missing = sorted(set(labelled) - set(counted))
    if missing:
        raise InputError(f"labelled frames {missing[:5]} were not in the video")
    errors = [counted[f] - labelled[f] for f in sorted(labelled)]
    n = len(errors)
    return CountAgreement(
        frames=n,
        rmse=math.sqrt(sum(e * e for e in errors) / n),
        mae=sum(abs(e) for e in errors) / n,
        bias=sum(errors) / n,
    )
