"""The periodic health message (topic `anonflow/v1/{store}/{gateway}/health`), one JSON object.

    {"schema": "anonflow.health/1", "store_id", "gateway_id", "time_ms", "uptime_s",
     "spool_depth", "spool_age_s", "evicted_entries", "cameras_down",
     "cameras": [{"camera_id", "connected", "finished", "fps", "lag_ms", "frames_read",
                  "frames_processed", "frames_dropped", "entries", "open_failures", "stream_losses",
                  "processing_errors", "crops_face_dropped", "last_error"}],
     "spool": {"depth", "bytes", "oldest_age_s", "evicted_total", "dropped_total"},
     "transport": {"kind", "connected", "last_error", "connect_failures", "certificate_expires_in_s",
                   "published_messages", "published_entries", "publish_failures", "last_ack_age_s"}}

The top-level numbers are what the cloud alarms on (an IoT topic rule copies them to CloudWatch), so
they are always numbers: `spool_depth` entries waiting, `spool_age_s` age of the oldest (0 when
empty), `evicted_entries` evicted since the previous health message, `cameras_down` cameras neither
connected nor finished. The sections hold the detail: camera counters run from the process start;
`spool.evicted_total` is kept across restarts; `crops_face_dropped` counts crops the independent face
check refused (never classified or saved); FPS is over the last 10 s; `lag_ms` is the
capture-to-analysis delay of the latest frame; ages are seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from anonflow.edge.runtime.camera import SourceStats
from anonflow.edge.runtime.sender import SenderStats
from anonflow.edge.runtime.spool import SpoolStats
from anonflow.edge.runtime.transports.base import TransportStatus

HEALTH_SCHEMA: Final = "anonflow.health/1"


@dataclass(frozen=True, slots=True)
class AnalysisStats:
    """What a camera's analysis loop counted: frames analysed, entries spooled, errors, speed, delay."""

    frames_processed: int
    entries: int
    processing_errors: int
    crops_face_dropped: int
    fps: float
    lag_ms: float | None


def camera_health(camera_id: str, source: SourceStats, analysis: AnalysisStats) -> dict[str, Any]:
    return {
        "camera_id": camera_id,
        "connected": source.connected,
        "finished": source.finished,
        "fps": round(analysis.fps, 2),
        "lag_ms": None if analysis.lag_ms is None else round(analysis.lag_ms, 1),
        "frames_read": source.frames_read,
        "frames_processed": analysis.frames_processed,
        "frames_dropped": source.frames_dropped,
        "entries": analysis.entries,
        "open_failures": source.open_failures,
        "stream_losses": source.stream_losses,
        "processing_errors": analysis.processing_errors,
        "crops_face_dropped": analysis.crops_face_dropped,
        "last_error": source.last_error,
    }


def health_message(
    *,
    store_id: str,
    gateway_id: str,
    now_s: float,
    started_s: float,
    cameras: list[dict[str, Any]],
    spool: SpoolStats,
    evicted_since_last: int,
    sender: SenderStats,
    transport: TransportStatus,
) -> dict[str, Any]:
    return {
        "schema": HEALTH_SCHEMA,
        "store_id": store_id,
        "gateway_id": gateway_id,
        "time_ms": int(now_s * 1000),
        "uptime_s": round(now_s - started_s, 1),
        "spool_depth": spool.depth,
        "spool_age_s": round(spool.oldest_age_s or 0.0, 1),
        "evicted_entries": evicted_since_last,
        "cameras_down": sum(1 for c in cameras if not c["connected"] and not c["finished"]),
        "cameras": cameras,
        "spool": {
            "depth": spool.depth,
            "bytes": spool.bytes,
            "oldest_age_s": None if spool.oldest_age_s is None else round(spool.oldest_age_s, 1),
            "evicted_total": spool.evicted_entries,
            "dropped_total": spool.dropped_entries,
        },
        "transport": {
            "kind": transport.kind,
            "connected": transport.connected,
            "last_error": transport.last_error,
            "connect_failures": transport.connect_failures,
            "certificate_expires_in_s": transport.certificate_expires_in_s,
            "published_messages": sender.published_messages,
            "published_entries": sender.published_entries,
            "publish_failures": sender.publish_failures,
            "last_ack_age_s": None
            if sender.last_ack_ms is None
            else round(max(now_s - sender.last_ack_ms / 1000, 0.0), 1),
        },
    }
