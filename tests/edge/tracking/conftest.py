"""Every `Tracker` implementation, for the contract test. A new tracker joins by adding a line here."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from anonflow.edge.tracking.base import Tracker
from anonflow.edge.tracking.bytetrack import ByteTrack, ByteTrackConfig

# Each factory builds a fresh tracker that ends a track lost for longer than its argument, in seconds.
TrackerFactory = Callable[[float], Tracker]

TRACKER_FACTORIES: list[tuple[str, TrackerFactory]] = [
    ("bytetrack", lambda lost_buffer_s: ByteTrack(ByteTrackConfig(lost_buffer_s=lost_buffer_s))),
    (
        "bytetrack-low-revives",
        lambda lost_buffer_s: ByteTrack(
            ByteTrackConfig(lost_buffer_s=lost_buffer_s, low_score_revives_lost=True)
        ),
    ),
]


@pytest.fixture(params=[f for _, f in TRACKER_FACTORIES], ids=[name for name, _ in TRACKER_FACTORIES])
def make_tracker(request: pytest.FixtureRequest) -> TrackerFactory:
    factory: TrackerFactory = request.param
    return factory
