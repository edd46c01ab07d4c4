"""The anonymous entry: the one wire contract between the edge and the dataflow (version 2).

An entry is one observation of one tracked person by one camera. By default it carries only what the
cloud job uses (`Entry`, profile `minimal`): ids, capture time, the foot point rounded to 1/1000 of the
frame, zones, line crossings, gender and age group, the appearance group and the producer. Key points,
the body box, orientation and raw attribute probabilities travel only when a deployment explicitly turns
on research detail (`ResearchEntry`, profile `research`), so a reader can tell from the entry itself which
it holds. Neither ever holds pixels, crops, face key points, or any embedding of a face: `extra="forbid"`
and the closed key-point object make that a property of the schema, not a promise of the producer.

The JSON Schemas `entry.v2.schema.json` and `entry.v2-research.schema.json` are generated from these
classes (`anonflow schema entry --generate`) and a test keeps them identical, so both sides can validate
without Python. Archived v1 entries are read through `entry_v1.py`.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Final, Literal, TypeGuard

from pydantic import BaseModel, Field, model_validator

from anonflow.contract.settings import StrictModel

SCHEMA_VERSION: Final = 2
SCHEMA_ID: Final = "https://anonflow.dev/schemas/entry.v2.json"
RESEARCH_SCHEMA_ID: Final = "https://anonflow.dev/schemas/entry.v2-research.json"

# Identifiers double as MQTT topic levels and Parquet partition values: keep them topic-safe.
IDENTIFIER_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
Identifier = Annotated[str, Field(pattern=IDENTIFIER_PATTERN)]
_IDENTIFIER: Final = re.compile(IDENTIFIER_PATTERN)
UnitFloat = Annotated[float, Field(ge=0.0, le=1.0)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
# Positions in minimal entries are rounded to this many decimals (1/1000 of the frame, ~2 px at 1080p):
# enough for zones and counting lines, too coarse to carry a fingerprint of body shape.
POSITION_DECIMALS: Final = 3


def is_identifier(value: object) -> TypeGuard[str]:
    """Whether `value` is a valid store, camera, zone or line id, checked as the schema checks it.

    Use this, never `re.match` on the pattern: Python's `$` also matches before a final newline, so
    `re.match` would take an id ending in a newline for a valid one, and it would become a directory name.
    """
    return isinstance(value, str) and _IDENTIFIER.fullmatch(value) is not None


class Orientation(StrEnum):
    FRONT = "front"
    BACK = "back"
    SIDE = "side"
    UNKNOWN = "unknown"


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    UNKNOWN = "unknown"


class AgeGroup(StrEnum):
    """The age a head-free body can tell: build and height separate children, adults and seniors."""

    CHILD = "child"
    ADULT = "adult"
    SENIOR = "senior"
    UNKNOWN = "unknown"


class AgeBand(StrEnum):
    """The finer band, only where a customer-trained model reads it reliably enough."""

    CHILD = "0-17"
    YOUNG = "18-34"
    MIDDLE = "35-54"
    SENIOR = "55+"
    UNKNOWN = "unknown"


AGE_GROUP_OF_BAND: Final[dict[AgeBand, AgeGroup]] = {
    AgeBand.CHILD: AgeGroup.CHILD,
    AgeBand.YOUNG: AgeGroup.ADULT,
    AgeBand.MIDDLE: AgeGroup.ADULT,
    AgeBand.SENIOR: AgeGroup.SENIOR,
    AgeBand.UNKNOWN: AgeGroup.UNKNOWN,
}


class Box(StrictModel):
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


class Point(StrictModel):
    """A normalised image position."""

    x: UnitFloat
    y: UnitFloat


class KeyPoint(StrictModel):
    """A body key point: normalised position plus the pose network's confidence."""

    x: UnitFloat
    y: UnitFloat
    score: Probability


class BodyKeyPoints(StrictModel):
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


AttributeName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


class Demographics(StrictModel):
    """Coarse, body-only labels, smoothed over the track so far; `unknown` when no model reads them.

    age_band: only where a customer-trained model reads the finer band; it must fall in `age_group`.
    """

    gender: Gender = Gender.UNKNOWN
    age_group: AgeGroup = AgeGroup.UNKNOWN
    age_band: AgeBand | None = None

    @model_validator(mode="after")
    def _band_in_group(self) -> Demographics:
        if self.age_band is not None and AGE_GROUP_OF_BAND[self.age_band] is not self.age_group:
            raise ValueError(
                f"age_band {self.age_band.value} does not fall in age_group {self.age_group.value}"
            )
        return self


class LineCrossing(StrictModel):
    """The track's foot point crossed a counting line between the previous observation and this one."""

    line_id: Identifier
    direction: Literal["in", "out"]


class Producer(StrictModel):
    """Which software and models made the entry, for audit and for re-processing decisions."""

    version: Annotated[str, Field(max_length=32)]
    pose_model: Annotated[str, Field(max_length=64)]
    attribute_model: Annotated[str, Field(max_length=64)]


class Entry(StrictModel):
    """One anonymous observation of one tracked person by one camera (wire contract v2, minimal)."""

    schema_version: Literal[2] = Field(description="Contract version; bumps on incompatible change.")
    profile: Literal["minimal"] = Field(
        "minimal", description="`minimal`: only what the cloud job uses. `research` entries add `research`."
    )
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
    foot: Point = Field(
        description="Ground contact point (mid-ankles, else box bottom centre), rounded to 0.001."
    )
    demographics: Demographics
    appearance_group: Annotated[int, Field(ge=0, le=65_535)] = Field(
        description="Locality-sensitive-hash bucket of coarse clothing colours and accessory flags, "
        "seeded per store and store-local day; one of a few hundred or thousand groups, shared by many "
        "people, never unique to one, and not comparable across stores or days."
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


class ResearchDetail(StrictModel):
    """What a research entry adds; only with the gateway's explicit `entry_detail: research` setting.

    attributes: the attribute network's smoothed probabilities by name (`male`, `bag`, `hat`, ...).
    """

    box: Box
    keypoints: BodyKeyPoints
    orientation: Orientation = Orientation.UNKNOWN
    attributes: dict[AttributeName, Probability] = Field(default_factory=dict, max_length=32)


class ResearchEntry(Entry):
    """A v2 entry with research detail (body key points, box, orientation, raw attribute probabilities)."""

    profile: Literal["research"] = Field(  # type: ignore[assignment]
        description="`research`: the gateway was explicitly configured to add research detail."
    )
    research: ResearchDetail


def _schema(model: type[BaseModel], schema_id: str) -> dict[str, object]:
    schema = model.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": schema_id, **schema}


def entry_json_schema() -> dict[str, object]:
    """The JSON Schema of the minimal `Entry`, as committed in entry.v2.schema.json."""
    return _schema(Entry, SCHEMA_ID)


def research_entry_json_schema() -> dict[str, object]:
    """The JSON Schema of `ResearchEntry`, as committed in entry.v2-research.schema.json."""
    return _schema(ResearchEntry, RESEARCH_SCHEMA_ID)
