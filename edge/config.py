"""Per-camera chain settings: typed, bounded, and closed to unknown keys so a typo is an error."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from anonflow.contract.body import BODY_POINTS
from anonflow.contract.entry import Identifier
from anonflow.contract.settings import StrictModel

NormalisedXY = tuple[Annotated[float, Field(ge=0.0, le=1.0)], Annotated[float, Field(ge=0.0, le=1.0)]]


class GateConfig(StrictModel):
    """Which people are confident enough to be processed at all (patent claims 14-16).

    A person passes as *whole* (required points and `min_points` confident) or, when the frame cuts
    them, as *cut off*: hips hidden below the frame's bottom edge or behind a counter (both shoulders
    at `cut_off_shoulder_threshold`), or half outside a side edge (the shoulder and hip of the side still
    in view, the other shoulder within `side_edge_margin` of the edge). Defaults measured on the sample
    videos against hand-labelled frames (per-frame count MAE, store aisle: 0.81 whole-only, 0.24 now).
    """

    required_points: tuple[str, ...] = Field(
        ("left_shoulder", "right_shoulder", "left_hip", "right_hip"),
        description="Body points a whole person must have above `point_threshold` "
        "(the neck is the shoulders' midpoint).",
    )
    point_threshold: float = Field(0.2, ge=0.0, le=1.0, description="Confidence a point needs to count.")
    min_points: int = Field(
        6,
        ge=1,
        le=len(BODY_POINTS),
        description="Least number of confident body points a whole person needs "
        "(measured: 5 counts better per frame on the store aisle but splits one shopper into two tracks).",
    )
    min_shoulder_width: float = Field(
        4.0,
        ge=0.0,
        le=1000.0,
        description="Least shoulder width in pixels; smaller people are too far to crop.",
    )
    accept_cut_off: bool = Field(
        True,
        description="Also accept people whose hips or legs are outside the frame or hidden "
        "(bottom edge, counters, close cameras) or who are cut by a side edge.",
    )
    cut_off_shoulder_threshold: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="Confidence both shoulders need when the hips are not seen "
        "(measured: 0.2 admits more stray skeletons, 0.4 misses half the upper bodies).",
    )
    side_edge_margin: float = Field(
        0.04,
        ge=0.0,
        le=0.5,
        description="A person with one shoulder unseen passes as cut by a side edge when the seen "
        "shoulder lies within this fraction of the frame width plus one shoulder-to-hip height of it.",
    )

    @field_validator("required_points")
    @classmethod
    def _known_points(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [p for p in value if p not in BODY_POINTS]
        if unknown:
            raise ValueError(f"unknown body points {unknown}; choose from {list(BODY_POINTS)}")
        return value


class CropConfig(StrictModel):
    """The anonymous crop: fitted to body points, capped above the shoulders (claims 3, 6, 7)."""

    head_cap: float = Field(
        0.15,
        ge=0.0,
        # Measured: pasted faces reach crops from 0.35 up; 0.25 and below keep every test face out.
        le=0.25,
        description="How far above the shoulder line the crop may reach, as a fraction of the torso "
        "height (shoulder line to hip line). The head starts about 0.3 above; 0.15 keeps collars, no chin.",
    )
    side_margin: float = Field(
        0.25,
        ge=0.0,
        le=1.0,
        description="Margin left and right of the body points, fraction of shoulder width.",
    )
    bottom_margin: float = Field(
        0.08, ge=0.0, le=0.5, description="Margin below the lowest point, fraction of the torso height."
    )
    leg_extent: float = Field(
        1.7,
        ge=0.0,
        le=3.0,
        description="Where ankles are unseen, extend the crop this many torso heights below the hips.",
    )
    body_mask: bool = Field(
        False, description="Composite the body-frame polygon onto a neutral background (para 47)."
    )
    mask_others: bool = Field(True, description="Blank other people's boxes where they overlap this crop.")
    neutral_value: int = Field(128, ge=0, le=255, description="Grey level used for masked pixels.")


class FaceCheckConfig(StrictModel):
    """The independent face check every crop passes before it is classified or saved (edge.facecheck)."""

    upscale: int = Field(
        1,
        ge=1,
        le=4,
        description="Enlarge crops this many times first, so faces under 20 px are looked for too "
        "(each step costs about 4x).",
    )
    min_neighbors: int = Field(
        3,
        ge=2,
        le=10,
        description="Overlapping detections a face needs (lower finds more faces and drops more crops). "
        "Measured (bench/face_check.py): 3 catches a face pasted into a crop at 32 / 40 / 50 px wide in "
        "51 / 72 / 85 % of crops against 23 / 49 / 70 % at 4, with no false drop on the sample videos "
        "either way, at the same cost.",
    )
    scale_step: float = Field(
        1.15, ge=1.05, le=1.5, description="Step between the detector's scales (smaller is finer, slower)."
    )


class ZoneConfig(StrictModel):
    """A polygon on the camera image; a person is in it when the foot point lies inside."""

    id: Identifier
    polygon: list[NormalisedXY] = Field(min_length=3, max_length=64, description="Vertices, normalised x, y.")


class LineConfig(StrictModel):
    """A counting line: crossing it from its left side to its right side (walking start->end) is `in`."""

    id: Identifier
    start: NormalisedXY
    end: NormalisedXY

    @model_validator(mode="after")
    def _not_a_point(self) -> LineConfig:
        if self.start == self.end:
            raise ValueError(f"line {self.id}: start and end must differ")
        return self


class CameraChainConfig(StrictModel):
    """Everything the frame->entry chain of one camera needs, apart from the models' files."""

    pose_model: str | None = Field(
        None,
        description="Manifest name of the pose model. None: openpose-lightweight-int8 where the model "
        "directory holds it (made on the gateway: about 3x faster, labelled counts unchanged), else the "
        "float openpose-lightweight it is made from, said once in the log.",
    )
    attribute_model: str = Field(
        "person-attributes-0230", description="Manifest name of the attribute model."
    )
    pose_input_height: int | None = Field(
        None, ge=128, le=1024, description="Pose network input height in pixels (None: the model's default)."
    )
    detect_every: int = Field(
        2,
        ge=1,
        le=30,
        description="Run the pose model on every k-th frame and let the tracker predict in between "
        "(2: about twice the float model's frame rate, every labelled clip counted the same).",
    )
    gate: GateConfig = GateConfig()
    crop: CropConfig = CropConfig()
    face_check: FaceCheckConfig = FaceCheckConfig()
    zones: list[ZoneConfig] = Field(
        default_factory=list, max_length=32, description="Polygon zones; none means one zone `all`."
    )
    lines: list[LineConfig] = Field(default_factory=list, max_length=32, description="Counting lines.")
    appearance_groups: int = Field(
        1000,
        ge=16,
        le=65_536,
        description="Buckets the appearance template hashes into (coarser is more private).",
    )
    entry_interval_s: float = Field(
        1.0, ge=0.0, le=3600.0, description="Least time between two entries of one track (0: every frame)."
    )
    entry_detail: Literal["minimal", "research"] = Field(
        "minimal",
        description="minimal: entries carry only what the cloud job uses. research: they also carry body "
        "key points with scores, the box, orientation and raw attribute probabilities (contract profile "
        "`research`); turn on only for a consented research or training collection.",
    )
    attribute_every_s: float = Field(
        0.5, ge=0.0, le=60.0, description="Least time between attribute readings of one track."
    )
    attribute_readings: int = Field(
        5,
        ge=0,
        le=10_000,
        description="Readings a track's demographics and appearance group are averaged from; the track's "
        "crops are no longer cut, face-checked or classified after that (0: read for as long as the track "
        "lives). Each reading costs an attribute-network run and a face check.",
    )

    @model_validator(mode="after")
    def _unique_ids(self) -> CameraChainConfig:
        for kind, ids in (("zone", [z.id for z in self.zones]), ("line", [ln.id for ln in self.lines])):
            if len(ids) != len(set(ids)):
                raise ValueError(f"{kind} ids must be unique, got {ids}")
        return self
