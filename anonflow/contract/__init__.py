"""The wire contract shared by edge and dataflow. Importing it never imports OpenCV, ONNX or Beam."""

import json
from importlib import resources

from anonflow.contract.body import BODY_POINTS, FACE_POINTS
from anonflow.contract.entry import (
    SCHEMA_VERSION,
    AgeBand,
    BodyKeyPoints,
    Box,
    Demographics,
    Entry,
    Gender,
    KeyPoint,
    LineCrossing,
    Orientation,
    Point,
    Producer,
    entry_json_schema,
)

SCHEMA_FILE = "entry.v1.schema.json"


def committed_entry_schema() -> dict[str, object]:
    """The JSON Schema as kept in the repository (and shipped in the package)."""
    text = resources.files(__name__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, object] = json.loads(text)
    return schema


__all__ = [
    "BODY_POINTS",
    "FACE_POINTS",
    "SCHEMA_FILE",
    "SCHEMA_VERSION",
    "AgeBand",
    "BodyKeyPoints",
    "Box",
    "Demographics",
    "Entry",
    "Gender",
    "KeyPoint",
    "LineCrossing",
    "Orientation",
    "Point",
    "Producer",
    "committed_entry_schema",
    "entry_json_schema",
]
