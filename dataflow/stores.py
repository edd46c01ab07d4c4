"""Store configuration for the Beam job: local time zone, camera adjacency, transit times, join limits.

One YAML file describes every store the job may see::

    stores:
      - store_id: store-001
        time_zone: Europe/Berlin
        occlusion: {max_gap_s: 4.0, max_jump: 0.08, max_speed: 0.25}
        links:
          - {from_camera: entrance, to_camera: aisle-a, min_transit_s: 2, max_transit_s: 30}
          - {from_camera: aisle-a, from_zone: aisle-a-exit, to_camera: checkout, min_transit_s: 3,
             max_transit_s: 40, bidirectional: false}

Every model forbids unknown keys, so a typo in the file is an error naming the key, not a silent default.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import Field, field_validator, model_validator

from anonflow.contract.entry import Identifier
from anonflow.contract.errors import InputError
from anonflow.contract.settings import StrictModel, parse_yaml, validate_config


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


class OcclusionRule(StrictModel):
    """When two tracks of one camera are the same person briefly hidden (see dataflow/reconnect/README.md)."""

    max_gap_s: float = Field(
        4.0,
        gt=0.0,
        le=60.0,
        description="Longest time between the end of one track and the start of the next.",
    )
    max_jump: float = Field(
        0.08,
        ge=0.0,
        le=1.0,
        description="Foot-point distance (normalised image units) allowed regardless of the gap: "
        "detector jitter and the last few frames the tracker could not place.",
    )
    max_speed: float = Field(
        0.25,
        ge=0.0,
        le=5.0,
        description="Walking speed in normalised image widths per second; the allowed distance grows by "
        "this much per second of gap.",
    )


class CameraLink(StrictModel):
    """A walkable connection from one camera's view to another's, with its plausible transit time.

    `min_transit_s` may be negative for cameras whose views overlap (the person appears in the next view
    before leaving the previous one).
    """

    from_camera: Identifier
    to_camera: Identifier
    from_zone: Identifier | None = Field(
        None, description="If set, the earlier track must end with its foot point in this zone."
    )
    to_zone: Identifier | None = Field(
        None, description="If set, the later track must start with its foot point in this zone."
    )
    min_transit_s: float = Field(
        ge=-60.0, le=3600.0, description="Shortest plausible time from leaving one view to entering the next."
    )
    max_transit_s: float = Field(
        gt=-60.0, le=3600.0, description="Longest plausible time from leaving one view to entering the next."
    )
    bidirectional: bool = Field(
        True, description="Also allow the reverse walk (zones swapped) with the same transit times."
    )

    @model_validator(mode="after")
    def _ordered(self) -> CameraLink:
        if self.max_transit_s <= self.min_transit_s:
            raise ValueError(
                f"max_transit_s ({self.max_transit_s}) must exceed min_transit_s ({self.min_transit_s})"
            )
        if self.from_camera == self.to_camera:
            raise ValueError(
                f"a link joins two different cameras; {self.from_camera!r} to itself is the occlusion rule"
            )
        return self

    def directed(self) -> tuple[CameraLink, ...]:
        """This link and, if bidirectional, its reverse, each as a one-way link."""
        forward = self.model_copy(update={"bidirectional": False})
        if not self.bidirectional:
            return (forward,)
        reverse = CameraLink(
            from_camera=self.to_camera,
            to_camera=self.from_camera,
            from_zone=self.to_zone,
            to_zone=self.from_zone,
            min_transit_s=self.min_transit_s,
            max_transit_s=self.max_transit_s,
            bidirectional=False,
        )
        return (forward, reverse)


class PeopleRule(StrictModel):
    """How journeys become people (the method is in dataflow/people/README.md).

    With door lines named, every person's first journey crosses one inwards; a journey that does not
    is a fragment of someone already inside and is stitched to the most plausible unfinished journey.
    Without door lines, each journey counts as one person.
    """

    doors: tuple[Identifier, ...] = Field(
        (),
        max_length=32,
        description="Counting lines (line_id) that every way in and out of the store crosses: the doors. "
        "Leave empty when a way in has no line (a staff door, a mall side): stitching then stays off.",
    )
    max_gap_s: float = Field(
        1800.0,
        gt=0.0,
        le=4 * 3600.0,
        description="Longest time out of every camera's view between two journeys of one person.",
    )
    time_scale_s: float = Field(
        60.0,
        gt=0.0,
        le=3600.0,
        description="Seconds of gap that cost as much as one mismatched cue; shorter gaps are preferred.",
    )
    group_penalty: float = Field(
        3.0,
        ge=0.0,
        le=100.0,
        description="Cost of a different appearance group at the join (light and flicker change groups).",
    )
    place_penalty: float = Field(
        3.0,
        ge=0.0,
        le=100.0,
        description="Cost of a join between cameras without a link, or whose link zones do not match.",
    )


class StoreConfig(StrictModel):
    """One store: where it is in time, how its cameras connect, and how tracks may be re-connected."""

    store_id: Identifier
    time_zone: str = Field(description="IANA time zone the store's hours and days are cut in.")
    occlusion: OcclusionRule = Field(default_factory=OcclusionRule)
    links: tuple[CameraLink, ...] = Field(
        (), max_length=1024, description="Camera-to-camera walks; cameras without a link are never joined."
    )
    require_same_group: bool = Field(
        True,
        description="Join only tracks with the same appearance group. Turning this off makes joins rest on "
        "time and place alone; keep it on unless the gateways send no groups.",
    )
    people: PeopleRule = Field(
        default_factory=PeopleRule, description="How the headline `visitors` turns journeys into people."
    )
    zones: tuple[Identifier, ...] = Field(
        (),
        max_length=1000,
        description="The store's zone ids (public: the differentially private release publishes exactly "
        "these, with '*', whoever came).",
    )
    cameras: tuple[Identifier, ...] = Field(
        (),
        max_length=1000,
        description="The store's camera ids (public, for the differentially private heat map); cameras "
        "named in links are added.",
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in _zone_names():
            raise ValueError(f"unknown IANA time zone {value!r} (for example Europe/Berlin)")
        return value

    @property
    def zone_info(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.time_zone)
        except ZoneInfoNotFoundError as error:  # validated above; only a broken tzdata install gets here
            raise InputError(f"time zone {self.time_zone!r} is not installed") from error

    def directed_links(self) -> tuple[CameraLink, ...]:
        return tuple(d for link in self.links for d in link.directed())


class StoresConfig(StrictModel):
    """All stores the job knows; entries from an unknown store go to the dead-letter output."""

    stores: tuple[StoreConfig, ...] = Field(min_length=1, max_length=100_000)

    @model_validator(mode="after")
    def _unique(self) -> StoresConfig:
        seen: set[str] = set()
        for store in self.stores:
            if store.store_id in seen:
                raise ValueError(f"store {store.store_id!r} is configured twice")
            seen.add(store.store_id)
        return self

    def by_id(self) -> dict[str, StoreConfig]:
        return {s.store_id: s for s in self.stores}

    def time_zones(self) -> dict[str, str]:
        """store_id -> IANA zone name: the small, picklable map the window functions need."""
        return {s.store_id: s.time_zone for s in self.stores}


DEFAULT_TIME_ZONE = "UTC"


def default_store(store_id: str) -> StoreConfig:
    """A store the job has no file for: days cut in UTC, the default occlusion rule, no camera links
    (so tracks are re-connected within each camera only)."""
    return StoreConfig(store_id=store_id, time_zone=DEFAULT_TIME_ZONE)


def _read_text(path: str) -> str:
    if "://" not in path:
        return Path(path).read_text(encoding="utf-8")
    from apache_beam.io.filesystems import FileSystems

    try:
        with FileSystems.open(path) as handle:
            return bytes(handle.read()).decode("utf-8")
    except OSError as error:  # Beam reports a missing object as an OSError subclass
        raise FileNotFoundError(path) from error


def load_stores(path: str | Path) -> StoresConfig:
    """Read and validate a stores YAML file (local, or any Beam filesystem URL such as s3://); any
    problem is one InputError naming the file and the field."""
    source = f"stores file {path}"
    try:
        text = _read_text(str(path))
    except FileNotFoundError as error:
        raise InputError(f"{source} does not exist") from error
    except UnicodeDecodeError as error:
        raise InputError(f"{source} is not UTF-8 text") from error
    data = parse_yaml(text, source)
    return validate_config(data if data is not None else {}, StoresConfig, source)
