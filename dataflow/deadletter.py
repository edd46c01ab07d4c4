"""Dead-letter rows: every payload the job cannot use, with the reason. Nothing is dropped silently."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from anonflow.contract.entry import is_identifier

RAW_LIMIT: Final = 64 * 1024
DEAD_LETTER_TAG: Final = "dead_letter"
UNKNOWN_STORE: Final = "unknown"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A rejected payload.

    store_id: the payload's own store id when it names a valid one (so each store sees its rejects),
    else "unknown"; received_at_ms: when the job saw it (UTC ms); raw: truncated to 64 KiB.
    """

    source: str
    reason: str
    raw: str
    received_at_ms: int
    store_id: str = UNKNOWN_STORE

    @classmethod
    def of(
        cls, source: str, reason: str, raw: str | bytes, received_at_ms: int, store_id: object = None
    ) -> DeadLetter:
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        # Only a valid id may become a partition directory name (no newline, slash or "..").
        store = store_id if is_identifier(store_id) else UNKNOWN_STORE
        return cls(source, reason[:1000], text[:RAW_LIMIT], received_at_ms, store)
