"""Dead-letter rows: every payload the job cannot use, with the reason. Nothing is dropped silently."""

from __future__ import annotations

from dataclasses import dataclass

RAW_LIMIT = 64 * 1024
DEAD_LETTER_TAG = "dead_letter"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A rejected payload. received_at_ms: when the job saw it (UTC ms); raw: truncated to 64 KiB."""

    source: str
    reason: str
    raw: str
    received_at_ms: int

    @classmethod
    def of(cls, source: str, reason: str, raw: str | bytes, received_at_ms: int) -> DeadLetter:
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        return cls(source, reason[:1000], text[:RAW_LIMIT], received_at_ms)
