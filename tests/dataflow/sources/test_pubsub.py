"""The Pub/Sub source: construction and wiring only.

There is no Pub/Sub here (no emulator, no network), so this test does not read messages. It checks that
the transform builds Beam's ReadFromPubSub with the right subscription, attributes and id label, and that
a message becomes the same (source, payload) pair the other sources yield.
"""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.io.gcp.pubsub import PubsubMessage, ReadFromPubSub
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from anonflow.dataflow.sources.pubsub import ReadPayloadsFromPubSub, pubsub_payload

SUBSCRIPTION = "projects/retail-analytics/subscriptions/anonflow-entries"


def test_wiring_builds_read_from_pubsub() -> None:
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    pipeline = beam.Pipeline(options=options)
    payloads = pipeline | "Entries" >> ReadPayloadsFromPubSub(
        subscription=SUBSCRIPTION, id_label="message_id"
    )

    reads = [
        t.transform
        for t in pipeline.transforms_stack[0].parts[0].parts
        if isinstance(t.transform, ReadFromPubSub)
    ]
    assert len(reads) == 1
    source = reads[0]._source
    assert (source.full_subscription, source.id_label, source.with_attributes) == (
        SUBSCRIPTION,
        "message_id",
        True,
    )
    assert source.full_topic is None
    assert payloads.producer.full_label == "Entries/Payloads"


def test_message_becomes_source_and_payload() -> None:
    message = PubsubMessage(data=b'{"entries": []}', attributes={"store": "s1"}, message_id="42")
    assert pubsub_payload(message, SUBSCRIPTION) == (f"pubsub:{SUBSCRIPTION}/42", '{"entries": []}')
    broken = PubsubMessage(data=b"\xff\xfe{", attributes={})
    source, text = pubsub_payload(broken, SUBSCRIPTION)
    assert source.endswith("/unknown") and text == "\ufffd\ufffd{"


@pytest.mark.parametrize("kwargs", [{}, {"subscription": SUBSCRIPTION, "topic": "projects/p/topics/t"}])
def test_exactly_one_origin(kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="exactly one of subscription= or topic="):
        ReadPayloadsFromPubSub(**kwargs)
