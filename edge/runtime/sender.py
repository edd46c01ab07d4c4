"""The sender: moves spooled entries to the transport, oldest first, one acknowledged batch at a time.

Stop-and-wait keeps each camera's entries in spool order on the wire, also across reconnects; a batch
is deleted from the spool only after its acknowledgement. A failed publish is retried after a jittered,
growing delay with the batch still spooled, so an outage costs time, never entries.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from anonflow.edge.runtime.backoff import Backoff
from anonflow.edge.runtime.spool import Spool
from anonflow.edge.runtime.transports.base import Transport, TransportError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SenderStats:
    """published_messages / published_entries: acknowledged since start; publish_failures: publishes
    that were not acknowledged (each retried); last_ack_ms: wall-clock time of the latest acknowledgement."""

    published_messages: int
    published_entries: int
    publish_failures: int
    last_ack_ms: int | None


class Sender:
    """Runs the delivery loop on its own thread."""

    def __init__(
        self,
        spool: Spool,
        transport: Transport,
        *,
        max_payload_bytes: int,
        ack_timeout_s: float,
        backoff: Backoff,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._spool = spool
        self._transport = transport
        self._max_payload_bytes = max_payload_bytes
        self._ack_timeout_s = ack_timeout_s
        self._backoff = backoff
        self._clock = clock
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._lock = threading.Lock()
        self._messages = 0
        self._entries = 0
        self._failures = 0
        self._last_ack_ms: int | None = None
        self._thread = threading.Thread(target=self._run, name="sender", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """New entries were spooled."""
        self._idle.clear()
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def join(self, timeout_s: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until the spool was found empty (everything acknowledged); True if it was."""
        return self._idle.wait(timeout_s)

    def stats(self) -> SenderStats:
        with self._lock:
            return SenderStats(self._messages, self._entries, self._failures, self._last_ack_ms)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._deliver()
            except Exception:
                # The thread boundary: an unexpected error (a disk I/O error reading the spool, say)
                # must not end delivery for good. Logged with its traceback; the loop starts over.
                log.exception("delivery loop failed; restarting it", extra={"event": "sender_failed"})
                self._stop.wait(self._backoff.next_delay())

    def _deliver(self) -> None:
        failing_since: float | None = None
        while not self._stop.is_set():
            self._transport.maintain()
            batch = self._spool.next_batch(self._max_payload_bytes)
            if batch is None:
                self._idle.set()
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            if not self._transport.wait_ready(0.5):
                continue
            try:
                self._transport.publish(batch.topic, batch.payload, self._ack_timeout_s)
            except TransportError as error:
                delay = self._backoff.next_delay()
                with self._lock:
                    self._failures += 1
                first = failing_since is None
                failing_since = failing_since or self._clock()
                log.log(
                    logging.WARNING if first else logging.DEBUG,
                    "delivery of %d entries on %s failed: %s; kept in the spool, retrying in %.1f s",
                    len(batch),
                    batch.topic,
                    error,
                    delay,
                    extra={"event": "publish_failed", "topic": batch.topic, "entries": len(batch)},
                )
                self._stop.wait(delay)
                continue
            self._spool.ack(batch)
            self._backoff.reset()
            with self._lock:
                self._messages += 1
                self._entries += len(batch)
                self._last_ack_ms = int(self._clock() * 1000)
            if failing_since is not None:
                log.info(
                    "delivery resumed after %.0f s of failures",
                    self._clock() - failing_since,
                    extra={"event": "publish_resumed"},
                )
                failing_since = None
