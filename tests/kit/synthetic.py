"""Contract-valid synthetic entries with deterministic ids, for the reliability bench and the tests.

The bench and the delivery tests must know exactly which entries should arrive; these stand in for
the chain's output only there (the gateway itself never makes them). Ids derive from (camera, n).
"""

from __future__ import annotations

import hashlib

from anonflow.contract import Entry
from anonflow.edge.runtime.batch import line_of


def synthetic_id(camera_id: str, n: int) -> str:
    return hashlib.md5(f"{camera_id}/{n}".encode()).hexdigest()


def synthetic_entry(n: int, camera_id: str = "cam1", store_id: str = "store1") -> Entry:
    """The n-th entry of a camera: one tracked person, minimal profile, a typical size on the wire."""
    return Entry.model_validate(
        {
            "schema_version": 2,
            "entry_id": synthetic_id(camera_id, n),
            "store_id": store_id,
            "camera_id": camera_id,
            "track_id": f"{n % 7:016x}",
            "event_time_ms": 1_767_225_600_000 + n * 100,
            "foot": {"x": 0.2, "y": 0.9},
            "demographics": {"gender": "unknown", "age_group": "unknown"},
            "appearance_group": n % 1000,
            "appearance_groups": 1000,
            "zones": ["all"],
            "line_crossings": [],
            "producer": {
                "version": "0.1.0",
                "pose_model": "openpose-lightweight",
                "attribute_model": "pa-0230",
            },
        }
    )


def synthetic_line(n: int, camera_id: str = "cam1", store_id: str = "store1") -> bytes:
    """The n-th entry as one NDJSON line."""
    return line_of(synthetic_entry(n, camera_id, store_id).model_dump_json().encode())
