"""Pub/Sub as a source of entry payloads, for running the job on Dataflow.

`ReadPayloadsFromPubSub` wraps Beam's own `ReadFromPubSub` and yields the same `(source, payload)`
pairs as the entry files and Kinesis, timestamped with the publish time (or `timestamp_attribute`).
A gateway bridge that forwards IoT messages to Pub/Sub should set a unique message attribute and name it
as `id_label`, so Dataflow drops redelivered messages; the job dedupes by entry id in any case.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.io.gcp.pubsub import PubsubMessage


def pubsub_payload(message: PubsubMessage, origin: str) -> tuple[str, str]:
    """A Pub/Sub message -> (source, payload text); undecodable bytes are replaced, parse rejects them."""
    data = message.data or b""
    source = f"pubsub:{origin}/{message.message_id or 'unknown'}"
    return (source, data.decode("utf-8", errors="replace"))


class ReadPayloadsFromPubSub(beam.PTransform):
    """A Pub/Sub subscription (or topic, through a temporary subscription) -> (source, payload) pairs.

    subscription: "projects/<project>/subscriptions/<name>"; or topic: "projects/<project>/topics/<name>".
    id_label: message attribute holding a unique id, for Dataflow's exactly-once delivery.
    timestamp_attribute: message attribute with the event time (ms since epoch or RFC 3339); default:
    the publish time.
    """

    def __init__(
        self,
        *,
        subscription: str | None = None,
        topic: str | None = None,
        id_label: str | None = None,
        timestamp_attribute: str | None = None,
    ) -> None:
        super().__init__()
        if (subscription is None) == (topic is None):
            raise ValueError("give exactly one of subscription= or topic=")
        self._subscription = subscription
        self._topic = topic
        self._id_label = id_label
        self._timestamp_attribute = timestamp_attribute

    def expand(self, begin: beam.pvalue.PBegin) -> beam.PCollection:
        origin = self._subscription or self._topic or ""
        return (
            begin
            | "Read"
            >> beam.io.ReadFromPubSub(
                topic=self._topic,
                subscription=self._subscription,
                id_label=self._id_label,
                with_attributes=True,
                timestamp_attribute=self._timestamp_attribute,
            )
            | "Payloads" >> beam.Map(pubsub_payload, origin)
        )
