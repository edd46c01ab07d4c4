"""MQTT topic names in one place, so edge, infra and tests cannot drift apart."""

from typing import Final

TOPIC_PREFIX: Final = "anonflow/v1"


def entries_topic(store_id: str, camera_id: str) -> str:
    """MQTT topic a gateway publishes one camera's entries to."""
    return f"{TOPIC_PREFIX}/{store_id}/{camera_id}/entries"


def health_topic(store_id: str, gateway_id: str) -> str:
    """MQTT topic a gateway publishes its periodic health metrics to."""
    return f"{TOPIC_PREFIX}/{store_id}/{gateway_id}/health"
