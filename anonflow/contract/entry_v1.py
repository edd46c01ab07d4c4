"""The archived wire contract v1: read by the Beam job so entries written before v2 still parse.

Gateways no longer write v1. It carried more than the cloud job uses (twelve key points with scores,
raw attribute probabilities, the finer age band); v2 (`entry.py`) carries only what is used by default.
`entry.v1.schema.json` is generated from these classes and a test keeps the two identical.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import Field, model_validator

from anonflow.contract.entry import (
    AgeBand,
    BodyKeyPoints,
    Box,
    Gender,
    Identifier,
    LineCrossing,
    Orientation,
    Point,
    Probability,
    Producer,
)
from anonflow.contract.settings import StrictModel

SCHEMA_ID_V1: Final = "https://anonflow.dev/schemas/entry.v1.json"


class DemographicsV1(StrictModel):
    """Coarse, body-only estimates, smoothed over the track so far.

    `attributes` holds the attribute network's probabilities by name (for example `male`, `bag`,
    `backpack`, `hat`); labels are the thresholded reading, `unknown` when no model provides one.
    """

    gender: Gender = Gender.UNKNOWN
    age_band: AgeBand = AgeBand.UNKNOWN
    attributes: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")], Probability] = Field(
        default_factory=dict, max_length=32
    )


class EntryV1(StrictModel):
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
    demographics: DemographicsV1
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
    def _group_in_range(self) -> EntryV1:
        if self.appearance_group >= self.appearance_groups:
            raise ValueError("appearance_group must be below appearance_groups")
        return self


def entry_v1_json_schema() -> dict[str, object]:
    """The JSON Schema of `EntryV1`, as committed in entry.v1.schema.json."""
    schema = EntryV1.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID_V1, **schema}
