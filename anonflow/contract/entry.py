"""The anonymous entry: the one wire contract between the edge and the dataflow.

An entry is one observation of one tracked person by one camera. It never holds pixels, crops, face
key points, or any embedding of a face; `extra="forbid"` and the closed key-point object make that a
property of the schema, not a promise of the producer.

The JSON Schema in `entry.v1.schema.json` is generated from these classes (`anonflow schema entry
--generate`) and a test keeps the two identical, so both sides can validate without Python.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Final, Literal, TypeGuard

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION: Final = 1
SCHEMA_ID: Final = "https://anonflow.dev/schemas/entry.v1.json"

# Identifiers double as MQTT topic levels and Parquet partition values: keep them topic-safe.
IDENTIFIER_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
Identifier = Annotated[str, Field(pattern=IDENTIFIER_PATTERN)]
_IDENTIFIER: Final = re.compile(IDENTIFIER_PATTERN)
UnitFloat = Annotated[float, Field(ge=0.0, le=1.0)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


def is_identifier(value: object) -> TypeGuard[str]:
    """Whether `value` is a valid store, camera, zone or line id, checked as the schema checks it.

    Use this, never `re.match` on the pattern: Python's `$` also matches before a final newline, so
    `re.match` would take an id ending in a newline for a valid one, and it would become a directory name.
    """
    return isinstance(value, str) and _IDENTIFIER.fullmatch(value) is not None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Orientation(StrEnum):
    FRONT = "front"
    BACK = "back"
    SIDE = "side"
    UNKNOWN = "unknown"


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    UNKNOWN = "unknown"


class AgeBand(StrEnum):
    CHILD = "0-17"
    YOUNG = "18-34"
    MIDDLE = "35-54"
    SENIOR = "55+"
    UNKNOWN = "unknown"


class Box(_Strict):
    """Body box in normalised image coordinates (0 = left/top edge, 1 = right/bottom edge)."""

    x_min: UnitFloat
    y_min: UnitFloat
    x_max: UnitFloat
    y_max: UnitFloat

    @model_validator(mode="after")
    def _ordered(self) -> Box:
        if self.x_max < self.x_min or self.y_max < self.y_min:
            raise ValueError("box max corner must not lie before its min corner")
        return self


class Point(_Strict):
    """A normalised image position."""

    x: UnitFloat
    y: UnitFloat


class KeyPoint(_Strict):
    """A body key point: normalised position plus the pose network's confidence."""

    x: UnitFloat
    y: UnitFloat
    score: Probability


class BodyKeyPoints(_Strict):
    """The twelve COCO body points; face points have no field and are rejected as extra keys."""

    left_shoulder: KeyPoint | None = None
    right_shoulder: KeyPoint | None = None
    left_elbow: KeyPoint | None = None
    right_elbow: KeyPoint | None = None
    left_wrist: KeyPoint | None = None
    right_wrist: KeyPoint | None = None
    left_hip: KeyPoint | None = None
    right_hip: KeyPoint | None = None
    left_knee: KeyPoint | None = None
    right_knee: KeyPoint | None = None
    left_ankle: KeyPoint | None = None
    right_ankle: KeyPoint | None = None


class Demographics(_Strict):
    """Coarse, body-only estimates, smoothed over the track so far.

    `attributes` holds the attribute network's probabilities by name (for example `male`, `bag`,
    `backpack`, `hat`); labels are the thresholded reading, `unknown` when no model provides one.
    """

    gender: Gender = Gender.UNKNOWN
    age_band: AgeBand = AgeBand.UNKNOWN
    attributes: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")], Probability] = Field(
        default_factory=dict, max_length=32
    )


class LineCrossing(_Strict):
    """The track's foot point crossed a counting line between the previous observation and this one."""

    line_id: Identifier
    direction: Literal["in", "out"]


class Producer(_Strict):
    """Which software and models made the entry, for audit and for re-processing decisions."""

    version: Annotated[str, Field(max_length=32)]
    pose_model: Annotated[str, Field(max_length=64)]
    attribute_model: Annotated[str, Field(max_length=64)]


class Entry(_Strict):
    """One anonymous observation of one tracked person by one camera (wire contract v1)."""

    schema_version: Literal[1] = Field(description="Contract version; bumps on incompatible change.")
    entry_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")] = Field(
        description="Random 128-bit id (hex); the dataflow drops repeats delivered at least once."
    )
    store_id: Identifier
    camera_id: Identifier
    track_id: Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")] = Field(
        description="Random per process and per person; not linkable across gateway restarts."
    )
    event_time_ms: Annotated[int, Field(ge=946_684_800_000, le=4_102_444_800_000)] = Field(
        description="Capture time of the frame, UTC, milliseconds since the Unix epoch (2000..2100)."
    )
    box: Box
    foot: Point = Field(description="Ground contact point (mid-ankles, else box bottom centre).")
    keypoints: BodyKeyPoints
    orientation: Orientation = Orientation.UNKNOWN
    demographics: Demographics
    appearance_group: Annotated[int, Field(ge=0, le=65_535)] = Field(
        description="Locality-sensitive-hash bucket of coarse clothing colours and accessory flags; "
        "one of a few hundred or thousand groups, shared by many people, never unique to one."
    )
    appearance_groups: Annotated[int, Field(ge=1, le=65_536)] = Field(
        description="How many groups the hash maps into (the bucket count the gateway is configured with)."
    )
    zones: list[Identifier] = Field(default_factory=list, max_length=32)
    line_crossings: list[LineCrossing] = Field(default_factory=list, max_length=32)
    producer: Producer

    @model_validator(mode="after")
    def _group_in_range(self) -> Entry:
        if self.appearance_group >= self.appearance_groups:
            raise ValueError("appearance_group must be below appearance_groups")
        return self


def entry_json_schema() -> dict[str, object]:
    """The JSON Schema of `Entry`, as committed in entry.v1.schema.json."""
    schema = Entry.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
