"""The sample videos the demo runs on, as cameras of one demo store. Files come from the video directory."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SampleCamera:
    """A sample video played as one camera: which file, which camera and zone, when it starts."""

    file: str
    camera_id: str
    zone_id: str
    start_time: str


DEMO_STORE = "demo-store"
DEMO_TIME_ZONE = "Europe/Berlin"  # the demo store's zone: its days and hours are cut in Berlin time
SAMPLE_CAMERAS: tuple[SampleCamera, ...] = (
    SampleCamera("store-aisle-detection.gif", "aisle-cam", "aisle", "2026-11-21T10:01:00Z"),
    SampleCamera("people-detection.gif", "room-cam", "fitting-area", "2026-11-21T10:02:30Z"),
    SampleCamera("one-by-one-person-detection.mp4", "entrance-cam", "entrance", "2026-11-21T10:00:00Z"),
    SampleCamera("vtest-480x360.avi", "walkway-cam", "walkway", "2026-11-21T10:03:00Z"),
)
