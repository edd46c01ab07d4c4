"""The sample videos the demo runs on, as cameras of one demo store, and where each comes from."""

from __future__ import annotations

from dataclasses import dataclass

INTEL_SAMPLES = "https://github.com/intel-iot-devkit/sample-videos/raw/master"
INTEL_LICENCE = "CC BY 4.0, Intel IoT DevKit sample-videos"


@dataclass(frozen=True, slots=True)
class SampleCamera:
    """A sample video played as one camera: which file, which camera and zone, when it starts, and its
    public source (url, sha256, licence; url empty when no public copy of these bytes may be fetched)."""

    file: str
    camera_id: str
    zone_id: str
    start_time: str
    url: str
    sha256: str
    licence: str


DEMO_STORE = "demo-store"
DEMO_TIME_ZONE = "Europe/Berlin"  # the demo store's zone: its days and hours are cut in Berlin time
SAMPLE_CAMERAS: tuple[SampleCamera, ...] = (
    SampleCamera(
        "store-aisle-detection.gif",
        "aisle-cam",
        "aisle",
        "2026-11-21T10:01:00Z",
        f"{INTEL_SAMPLES}/preview/store-aisle-detection.gif",
        "8f29af471b7df06c4eda38b72c22a86ee4779dfeff91c750b4f8087441ddb4d3",
        INTEL_LICENCE,
    ),
    SampleCamera(
        "people-detection.gif",
        "room-cam",
        "fitting-area",
        "2026-11-21T10:02:30Z",
        f"{INTEL_SAMPLES}/preview/people-detection.gif",
        "fa63d51a370464652cb902f73de8940292c8b4561c595b92fe252ad23be0f1d9",
        INTEL_LICENCE,
    ),
    SampleCamera(
        "one-by-one-person-detection.mp4",
        "entrance-cam",
        "entrance",
        "2026-11-21T10:00:00Z",
        f"{INTEL_SAMPLES}/one-by-one-person-detection.mp4",
        "a5964aa259099a482a8b360ffc2c57b5a30f84d5919236a4dad01f8e929ac07c",
        INTEL_LICENCE,
    ),
    # A re-encoded copy of OpenCV's samples/data/vtest.avi whose host states no licence: never downloaded,
    # used only when the video directory already holds it.
    SampleCamera(
        "vtest-480x360.avi",
        "walkway-cam",
        "walkway",
        "2026-11-21T10:03:00Z",
        "",
        "f6f676f1879eadf6b22abd0c2a1f6cecb5ae1ff2a63625512310356514048c5d",
        "not stated by its host",
    ),
)
