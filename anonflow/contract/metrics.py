"""CloudWatch metric names the gateway and the dataflow publish and the alarms watch, defined once.

Shared by the gateway (health fields), the Beam job (PutMetricData) and the alarms in `infra/`.

How each metric reaches CloudWatch:
- Gateway metrics come from the periodic health message on
  `anonflow.contract.topics.health_topic(...)`. An IoT
  topic rule copies the top-level numeric field `health_field` of that message into the metric (IoT's
  CloudWatch action has no dimensions, so a gateway metric is fleet-wide per environment; alarms use its
  Maximum).
- Dataflow metrics are published by the Beam job itself (PutMetricData, its role allows only this
  namespace), as per-minute sums without dimensions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Unit = Literal["Count", "Seconds"]


def namespace(environment: str) -> str:
    """Metric namespace of one environment, e.g. `Anonflow/dev`; keeps environments apart in one account."""
    return f"Anonflow/{environment}"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One custom metric: its name, unit, meaning, and (gateway metrics) the health-message field."""

    name: str
    unit: Unit
    description: str
    health_field: str | None = None


# Gateway health (published by the edge on the health topic, copied by the health topic rule).
SPOOL_DEPTH: Final = MetricSpec(
    "GatewaySpoolDepth",
    "Count",
    "Entries waiting in a gateway's disk spool for broker acknowledgement.",
    health_field="spool_depth",
)
SPOOL_AGE: Final = MetricSpec(
    "GatewaySpoolAgeSeconds",
    "Seconds",
    "Age of the oldest entry waiting in a gateway's spool.",
    health_field="spool_age_s",
)
SPOOL_EVICTED: Final = MetricSpec(
    "GatewaySpoolEvicted",
    "Count",
    "Entries a gateway evicted from its full spool since its last report.",
    health_field="evicted_entries",
)
CAMERAS_DOWN: Final = MetricSpec(
    "GatewayCamerasDown",
    "Count",
    "Cameras of a gateway that are neither connected nor finished (nobody is being counted there).",
    health_field="cameras_down",
)
GATEWAY_METRICS: Final[tuple[MetricSpec, ...]] = (SPOOL_DEPTH, SPOOL_AGE, SPOOL_EVICTED, CAMERAS_DOWN)

# Dataflow (published by the Beam job).
ENTRIES_READ: Final = MetricSpec("EntriesRead", "Count", "Payload lines or records the job read.")
DEAD_LETTERS: Final = MetricSpec(
    "DeadLetterEntries", "Count", "Read payloads routed to the dead_letter table (invalid, unparsable)."
)
DATAFLOW_METRICS: Final[tuple[MetricSpec, ...]] = (ENTRIES_READ, DEAD_LETTERS)
