"""The record the entries topic rule writes to the stream and the archive: the message, and its topic's ids.

A gateway's certificate may publish only under its own store's topics (the per-store IoT policy), but the
entries inside a message carry a `store_id` of the gateway's choosing. The rule therefore records the
store id of the topic the message arrived on, next to the message itself (base64: the payload is NDJSON,
which the rules engine treats as binary), and the job drops every entry whose own store id differs.

One record is one line of JSON, so Kinesis records and the Firehose archive (newline-separated) read alike.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from anonflow.contract.entry import Identifier
from anonflow.contract.topics import TOPIC_PREFIX

STORE_FIELD: Final = "topic_store_id"
PAYLOAD_FIELD: Final = "payload_base64"
# 128 KB is IoT Core's largest message; base64 makes it 4/3 as long.
MAX_PAYLOAD_CHARS: Final = 4 * (128 * 1024 + 2) // 3

# IoT SQL (2016-03-23) over `anonflow/v1/<store>/<camera>/entries`: topic(3) is the store level.
ROUTED_SQL: Final = (
    f"SELECT topic(3) AS {STORE_FIELD}, encode(*, 'base64') AS {PAYLOAD_FIELD} "
    f"FROM '{TOPIC_PREFIX}/+/+/entries'"
)


class RoutedMessage(BaseModel):
    """One entries message as the topic rule forwards it.

    topic_store_id: the store level of the MQTT topic the message was published on (trusted: the IoT
    policy ties it to the publishing gateway); payload_base64: the message bytes, base64-encoded.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic_store_id: Identifier = Field(description="Store id taken from the message's topic by the rule.")
    payload_base64: str = Field(max_length=MAX_PAYLOAD_CHARS, description="The message, base64-encoded.")
