"""The durable spool between the chain and the transport: SQLite in WAL mode on local disk.

Every entry is committed (fsync, `synchronous=FULL`) before the chain moves on, so a `kill -9` or a
power cut loses nothing that was spooled. The sender reads the oldest entries first, per topic, and
rows are deleted only after the transport acknowledged them (PUBACK, IPC response, file fsync), so
delivery is at-least-once; the entry id lets the dataflow drop the repeats.

The spool is bounded: when the stored entry bytes would pass `max_bytes`, or the disk itself is full,
the oldest entries are evicted to make room. Evictions are counted in the database (they survive
restarts) and logged; nothing leaves the spool unaccounted.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from anonflow.edge.runtime import batch as ndjson

log = logging.getLogger(__name__)

SPOOL_FILE = "spool.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    line BLOB NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_topic ON entries (topic, seq);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class Batch:
    """Consecutive spooled entries of one topic, packed as one NDJSON payload.

    seqs: the spool row ids, ascending (the order the entries were spooled in).
    oldest_ms: wall-clock time the first entry was spooled, milliseconds since the epoch.
    """

    topic: str
    seqs: tuple[int, ...]
    payload: bytes
    oldest_ms: int

    def __len__(self) -> int:
        return len(self.seqs)


@dataclass(frozen=True, slots=True)
class SpoolStats:
    """What the health message reports about the spool.

    depth: entries waiting; bytes: their size; oldest_age_s: age of the oldest waiting entry (None
    when empty); evicted_entries: entries ever evicted to stay within the bound or free a full disk
    (kept across restarts); dropped_entries: entries refused since start (larger than one message,
    or the disk full with nothing left to evict); last_seq: highest sequence number ever assigned.
    """

    depth: int
    bytes: int
    oldest_age_s: float | None
    evicted_entries: int
    dropped_entries: int
    last_seq: int


class Spool:
    """A bounded on-disk FIFO of NDJSON lines keyed by topic. Safe to share between threads."""

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int,
        max_line_bytes: int = ndjson.DEFAULT_MAX_PAYLOAD_BYTES,
        hard_limit_bytes: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_bytes < max_line_bytes:
            raise ValueError(f"max_bytes ({max_bytes}) must hold at least one line ({max_line_bytes})")
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / SPOOL_FILE
        self.max_bytes = max_bytes
        self.max_line_bytes = max_line_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before put() returns, so a power cut cannot take spooled entries.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(f"PRAGMA journal_size_limit={4 * 1024 * 1024}")
        # The hard page limit turns runaway file growth into SQLITE_FULL, handled like a full disk.
        limit = hard_limit_bytes if hard_limit_bytes is not None else 2 * max_bytes + 16 * 1024 * 1024
        page_size = int(self._db.execute("PRAGMA page_size").fetchone()[0])
        self._db.execute(f"PRAGMA max_page_count={max(limit // page_size, 64)}")
        self._db.executescript(_SCHEMA)
        depth, size = self._db.execute(
            "SELECT count(*), coalesce(sum(length(line)), 0) FROM entries"
        ).fetchone()
        self._depth = int(depth)
        self._bytes = int(size)
        self._dropped = 0

    # -- producer side -------------------------------------------------------------------------

    def put(self, items: Sequence[tuple[str, bytes]]) -> int:
        """Durably append (topic, NDJSON line) pairs in order; returns how many were stored."""
        now_ms = int(self._clock() * 1000)
        with self._lock:
            accepted = [(topic, line) for topic, line in items if self._fits(topic, line)]
            if not accepted:
                return 0
            incoming = ndjson.total_bytes(line for _, line in accepted)
            for attempt in range(3):
                try:
                    self._insert(accepted, incoming, now_ms)
                    return len(accepted)
                except sqlite3.OperationalError as error:
                    if error.sqlite_errorcode != sqlite3.SQLITE_FULL:
                        raise
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    # A full disk: make room by evicting the oldest tenth (at least as much as arrives).
                    freed = self._evict_for_disk(max(len(accepted), self._depth // 10 + 1))
                    log.error(
                        "spool disk full at %s: evicted %d oldest entries (attempt %d)",
                        self.path,
                        freed,
                        attempt + 1,
                        extra={"event": "spool_disk_full", "evicted": freed},
                    )
                    if freed == 0:
                        break
            self._dropped += len(accepted)
            log.error(
                "spool disk full at %s with nothing left to evict: dropped %d new entries",
                self.path,
                len(accepted),
                extra={"event": "spool_dropped", "dropped": len(accepted)},
            )
            return 0

    def _fits(self, topic: str, line: bytes) -> bool:
        if len(line) <= self.max_line_bytes and line.endswith(b"\n"):
            return True
        self._dropped += 1
        log.error(
            "refused an entry for %s: %d bytes is over the %d-byte message budget or not one NDJSON line",
            topic,
            len(line),
            self.max_line_bytes,
            extra={"event": "spool_refused", "topic": topic},
        )
        return False

    def _insert(self, items: Sequence[tuple[str, bytes]], incoming: int, now_ms: int) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        evicted, evicted_bytes = 0, 0
        while self._bytes - evicted_bytes + incoming > self.max_bytes:
            row = self._db.execute("SELECT seq, length(line) FROM entries ORDER BY seq LIMIT 1").fetchone()
            if row is None:
                break
            self._db.execute("DELETE FROM entries WHERE seq = ?", (row[0],))
            evicted += 1
            evicted_bytes += int(row[1])
        if evicted:
            self._count("evicted", evicted)
        self._db.executemany(
            "INSERT INTO entries (topic, line, created_ms) VALUES (?, ?, ?)",
            [(topic, line, now_ms) for topic, line in items],
        )
        self._db.execute("COMMIT")
        self._depth += len(items) - evicted
        self._bytes += incoming - evicted_bytes
        if evicted:
            log.warning(
                "spool over its %d-byte bound: evicted the %d oldest entries",
                self.max_bytes,
                evicted,
                extra={"event": "spool_evicted", "evicted": evicted},
            )

    def _evict_for_disk(self, count: int) -> int:
        rows = self._db.execute(
            "SELECT seq, length(line) FROM entries ORDER BY seq LIMIT ?", (count,)
        ).fetchall()
        if not rows:
            return 0
        # A delete needs no new pages, so it commits even on a full disk.
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("DELETE FROM entries WHERE seq <= ?", (rows[-1][0],))
        self._count("evicted", len(rows))
        self._db.execute("COMMIT")
        self._depth -= len(rows)
        self._bytes -= sum(int(r[1]) for r in rows)
        return len(rows)

    def _count(self, name: str, amount: int) -> None:
        self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
            (name, amount),
        )

    # -- sender side ---------------------------------------------------------------------------

    def next_batch(self, max_payload_bytes: int, max_entries: int = 10_000) -> Batch | None:
        """The oldest waiting entry's topic, with as many of its next entries as fit one payload."""
        with self._lock:
            head = self._db.execute("SELECT topic FROM entries ORDER BY seq LIMIT 1").fetchone()
            if head is None:
                return None
            rows: list[tuple[int, bytes, int]] = []
            size = 0
            cursor = self._db.execute(
                "SELECT seq, line, created_ms FROM entries WHERE topic = ? ORDER BY seq LIMIT ?",
                (head[0], max_entries),
            )
            for seq, line, created_ms in cursor:
                if rows and size + len(line) > max_payload_bytes:
                    break
                rows.append((int(seq), bytes(line), int(created_ms)))
                size += len(line)
            cursor.close()
        payload, count = ndjson.pack([line for _, line, _ in rows], max_payload_bytes)
        return Batch(
            topic=str(head[0]),
            seqs=tuple(s for s, _, _ in rows[:count]),
            payload=payload,
            oldest_ms=rows[0][2],
        )

    def ack(self, batch: Batch) -> None:
        """Delete a batch the transport acknowledged (rows evicted meanwhile are simply gone already)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            size = 0
            removed = 0
            for start in range(0, len(batch.seqs), 500):
                chunk = batch.seqs[start : start + 500]
                marks = ",".join("?" * len(chunk))
                row = self._db.execute(
                    f"SELECT count(*), coalesce(sum(length(line)), 0) FROM entries WHERE seq IN ({marks})",
                    chunk,
                ).fetchone()
                self._db.execute(f"DELETE FROM entries WHERE seq IN ({marks})", chunk)
                removed += int(row[0])
                size += int(row[1])
            self._db.execute("COMMIT")
            self._depth -= removed
            self._bytes -= size

    # -- reporting -----------------------------------------------------------------------------

    def stats(self) -> SpoolStats:
        with self._lock:
            oldest = self._db.execute("SELECT created_ms FROM entries ORDER BY seq LIMIT 1").fetchone()
            evicted = self._db.execute("SELECT value FROM counters WHERE name = 'evicted'").fetchone()
            last = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'entries'").fetchone()
            depth, size, dropped = self._depth, self._bytes, self._dropped
        age = None if oldest is None else max(self._clock() - oldest[0] / 1000, 0.0)
        return SpoolStats(
            depth=depth,
            bytes=size,
            oldest_age_s=age,
            evicted_entries=int(evicted[0]) if evicted else 0,
            dropped_entries=dropped,
            last_seq=int(last[0]) if last else 0,
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()
