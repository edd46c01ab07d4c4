"""The message payload: NDJSON, one complete entry JSON object per line, every line ending in "\\n".

One format serves every hop: an MQTT message, a local file, and the raw S3 archive that IoT Core's
Firehose action writes are all NDJSON, so a reader never unwraps an envelope. A message with one entry
is a batch of one line; the schema version travels in each entry. Readers split on "\\n", skip blank
lines, and parse each line as an entry on its own (a bad line is a dead letter, not a lost message).

IoT Core limits a message to 128 KB; `pack` fills a payload up to a byte budget below that.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

CONTENT_TYPE: Final = "application/x-ndjson"
IOT_CORE_MAX_PAYLOAD_BYTES: Final = 128 * 1024
# Room for the topic and MQTT5 properties inside IoT Core's 128 KB message limit.
DEFAULT_MAX_PAYLOAD_BYTES: Final = IOT_CORE_MAX_PAYLOAD_BYTES - 4 * 1024


def line_of(entry_json: bytes) -> bytes:
    """One NDJSON line for an entry serialised as compact JSON (no embedded newline is possible)."""
    if b"\n" in entry_json:
        raise ValueError("an entry's JSON must be on one line")
    return entry_json + b"\n"


def pack(lines: Sequence[bytes], max_payload_bytes: int) -> tuple[bytes, int]:
    """Join the longest prefix of `lines` that fits in `max_payload_bytes`; returns (payload, count).

    The first line is always taken, so a single oversized line still moves (the spool refuses such
    lines up front, so this only matters for a misconfigured budget).
    """
    if not lines:
        raise ValueError("nothing to pack")
    size = 0
    count = 0
    for line in lines:
        if count and size + len(line) > max_payload_bytes:
            break
        size += len(line)
        count += 1
    return b"".join(lines[:count]), count


def unpack(payload: bytes) -> list[bytes]:
    """The entry JSON documents in a payload, in order (the reader's side of the format)."""
    return [line for line in payload.split(b"\n") if line.strip()]


def total_bytes(lines: Iterable[bytes]) -> int:
    return sum(len(line) for line in lines)
