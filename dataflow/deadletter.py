"""Dead-letter rows: every payload the job cannot use, with the reason. Nothing is dropped silently."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from anonflow.contract.entry import IDENTIFIER_PATTERN

RAW_LIMIT: Final = 64 * 1024
DEAD_LETTER_TAG: Final = "dead_letter"
UNKNOWN_STORE: Final = "unknown"
# The contract's Identifier: only such a store id may become a partition directory name.
_IDENTIFIER: Final = re.compile(IDENTIFIER_PATTERN)


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
        store = store_id if isinstance(store_id, str) and _IDENTIFIER.match(store_id) else UNKNOWN_STORE
        return cls(source, reason[:1000], text[:RAW_LIMIT], received_at_ms, store)
