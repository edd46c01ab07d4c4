"""The wire contract shared by edge and dataflow. Importing it never imports OpenCV, ONNX or Beam."""

import json
from importlib import resources
from typing import Final, Literal

from anonflow.contract.body import BODY_POINTS, FACE_POINTS
from anonflow.contract.entry import (
    AGE_GROUP_OF_BAND,
    SCHEMA_VERSION,
    AgeBand,
    AgeGroup,
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
    ResearchDetail,
    ResearchEntry,
    entry_json_schema,
    research_entry_json_schema,
)
from anonflow.contract.entry_v1 import EntryV1, entry_v1_json_schema

SchemaName = Literal["entry", "entry-research", "entry-v1"]
# Committed JSON Schema file of each contract, and the function that generates it from the classes.
SCHEMA_FILES: Final[dict[str, str]] = {
    "entry": "entry.v2.schema.json",
    "entry-research": "entry.v2-research.schema.json",
    "entry-v1": "entry.v1.schema.json",
}
SCHEMA_FILE: Final = SCHEMA_FILES["entry"]


def generated_schema(name: SchemaName = "entry") -> dict[str, object]:
    """The JSON Schema generated from the classes of one contract."""
    makers = {
        "entry": entry_json_schema,
        "entry-research": research_entry_json_schema,
        "entry-v1": entry_v1_json_schema,
    }
    return makers[name]()


def committed_entry_schema(name: SchemaName = "entry") -> dict[str, object]:
    """A JSON Schema as kept in the repository (and shipped in the package); default the minimal v2."""
    text = resources.files(__name__).joinpath(SCHEMA_FILES[name]).read_text(encoding="utf-8")
    schema: dict[str, object] = json.loads(text)
    return schema


__all__ = [
    "AGE_GROUP_OF_BAND",
    "BODY_POINTS",
    "FACE_POINTS",
    "SCHEMA_FILE",
    "SCHEMA_FILES",
    "SCHEMA_VERSION",
    "AgeBand",
    "AgeGroup",
    "BodyKeyPoints",
    "Box",
    "Demographics",
    "Entry",
    "EntryV1",
    "Gender",
    "KeyPoint",
    "LineCrossing",
    "Orientation",
    "Point",
    "Producer",
    "ResearchDetail",
    "ResearchEntry",
    "SchemaName",
    "committed_entry_schema",
    "entry_json_schema",
    "generated_schema",
    "research_entry_json_schema",
]
