"""Labelled anonymous crops: the folder + labels CSV that training and attribute evaluation read.

The CSV has the columns `file,gender,age_group,orientation` (further columns are ignored, so the
PA-100K layout with its 26 attribute columns reads as is; an `age_band` column of the finer contract
bands is read as its age group); `file` is relative to the crops folder; the other columns take the wire
contract's values (`female`/`male`, `child`/`adult`/`senior`, `front`/`back`/`side`), with `unknown` or an
empty cell where a person could not tell. Crops are the
edge's anonymous crops (head excluded), stored as JPEG or PNG; any size is resized to 160x80 the way
the edge renders them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from anonflow.contract.entry import AGE_GROUP_OF_BAND, AgeBand, AgeGroup, Gender, Orientation
from anonflow.contract.errors import InputError

CROP_HEIGHT, CROP_WIDTH = 160, 80
COLUMNS: Final = ("file", "gender", "age_group", "orientation")
# The classes of each head, in the column order of `LabelledCrops.labels`; unknown is not a class.
HEADS: Final[dict[str, tuple[str, ...]]] = {
    "gender": tuple(g.value for g in Gender if g is not Gender.UNKNOWN),
    "age_group": tuple(a.value for a in AgeGroup if a is not AgeGroup.UNKNOWN),
    "orientation": tuple(o.value for o in Orientation if o is not Orientation.UNKNOWN),
}
UNKNOWN = -1


@dataclass(frozen=True, slots=True)
class LabelledCrops:
    """Crops and their labels, aligned by row.

    files: N names relative to the folder; images: uint8 [N, 160, 80, 3] BGR; labels: int64 [N, 3],
    columns gender, age_group, orientation (the order of `HEADS`), each the class index within its head
    or -1 (unknown).
    """

    files: tuple[str, ...]
    images: npt.NDArray[np.uint8]
    labels: npt.NDArray[np.int64]

    def __post_init__(self) -> None:
        n = len(self.files)
        if self.images.shape != (n, CROP_HEIGHT, CROP_WIDTH, 3) or self.images.dtype != np.uint8:
            raise ValueError(
                f"images must be uint8 [{n}, {CROP_HEIGHT}, {CROP_WIDTH}, 3], got "
                f"{self.images.dtype} {list(self.images.shape)}"
            )
        if self.labels.shape != (n, len(HEADS)):
            raise ValueError(f"labels must have shape [{n}, {len(HEADS)}], got {list(self.labels.shape)}")

    def __len__(self) -> int:
        return len(self.files)


def read_labels(path: Path) -> list[tuple[str, list[int]]]:
    """(file, [class index or -1 per head]) per CSV row; InputError naming the line of any bad value."""
    if not path.is_file():
        raise InputError(f"labels file {path} does not exist")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = set(reader.fieldnames or ())
        if "age_band" in fields and "age_group" not in fields:
            fields.add("age_group")
        if not set(COLUMNS) <= fields:
            raise InputError(
                f"labels file {path} must have the columns {','.join(COLUMNS)}, got {reader.fieldnames}"
            )
        rows: list[tuple[str, list[int]]] = []
        seen: set[str] = set()
        for line, row in enumerate(reader, start=2):
            name = (row["file"] or "").strip()
            if not name:
                raise InputError(f"{path}:{line}: empty file name")
            if name in seen:
                raise InputError(f"{path}:{line}: {name} is labelled twice")
            seen.add(name)
            classes = []
            if "age_group" not in row:
                row["age_group"] = _group_of_band((row.get("age_band") or "").strip().lower())
            for head, values in HEADS.items():
                value = (row[head] or "").strip().lower()
                if value in ("", "unknown"):
                    classes.append(UNKNOWN)
                elif value in values:
                    classes.append(values.index(value))
                else:
                    raise InputError(
                        f"{path}:{line}: {head} {value!r} is not one of {', '.join(values)}, unknown"
                    )
            rows.append((name, classes))
    if not rows:
        raise InputError(f"labels file {path} has no rows")
    return rows


def _group_of_band(band: str) -> str:
    bands = {b.value: b for b in AgeBand}
    return AGE_GROUP_OF_BAND[bands[band]].value if band in bands and band != "unknown" else band


def load_crops(folder: Path, labels: Path | None = None) -> LabelledCrops:
    """The labelled crops of `folder` (labels from `labels`, default folder/labels.csv)."""
    import cv2

    if not folder.is_dir():
        raise InputError(f"crops folder {folder} does not exist or is not a directory")
    rows = read_labels(labels if labels is not None else folder / "labels.csv")
    images = np.empty((len(rows), CROP_HEIGHT, CROP_WIDTH, 3), np.uint8)
    for i, (name, _) in enumerate(rows):
        path = folder / name
        image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
        if image is None:
            raise InputError(f"crop {path} is missing or not a readable image")
        if image.shape[:2] != (CROP_HEIGHT, CROP_WIDTH):
            image = cv2.resize(image, (CROP_WIDTH, CROP_HEIGHT), interpolation=cv2.INTER_AREA)
        images[i] = image
    return LabelledCrops(
        files=tuple(name for name, _ in rows),
        images=images,
        labels=np.asarray([classes for _, classes in rows], np.int64).reshape(len(rows), len(HEADS)),
    )
