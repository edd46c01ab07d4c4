"""Local transport: NDJSON files rolled by time and size, safe for a reader polling the directory.

Layout under `directory`:
    entries-{store}-{gateway}-{YYYYMMDDTHHMMSSmmm}Z-{nnnn}.ndjson         entries, one JSON entry per line
    health/health-{store}-{gateway}-{YYYYMMDDTHHMMSSmmm}Z-{nnnn}.ndjson   health messages, one per line
The timestamp is the UTC time the file was opened and `nnnn` counts the files this run opened, so
names sort in write order. A file is written as `<name>.ndjson.part` and renamed to `<name>.ndjson`
when it is rolled (after `max_file_bytes` or `roll_interval_s`) or the gateway stops; a reader takes
`*.ndjson` only and never sees a half-written file. Each publish is flushed and fsynced before it is
acknowledged. After a crash, leftover `.part` files are cut back to their last complete line and
renamed at the next start; entries whose acknowledgement was lost come again (same entry id).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from io import FileIO
from pathlib import Path

from anonflow.edge.runtime.transports.base import TransportError, TransportStatus

log = logging.getLogger(__name__)

PART_SUFFIX = ".part"
FILE_SUFFIX = ".ndjson"


class RollingFile:
    """One stream of NDJSON files in one directory, named `{prefix}-{opened UTC}.ndjson`."""

    def __init__(
        self,
        directory: Path,
        prefix: str,
        *,
        max_file_bytes: int,
        roll_interval_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self.prefix = prefix
        self.max_file_bytes = max_file_bytes
        self.roll_interval_s = roll_interval_s
        self._clock = clock
        self._handle: FileIO | None = None
        self._part: Path | None = None
        self._opened_at = 0.0
        self._size = 0
        self._opened = 0
        directory.mkdir(parents=True, exist_ok=True)
        recover_parts(directory)

    def write(self, payload: bytes) -> None:
        """Append whole lines and make them durable before returning."""
        if self._handle is not None and self._size and self._size + len(payload) > self.max_file_bytes:
            self.roll()
        handle = self._handle or self._open()
        try:
            view = memoryview(payload)
            while view:
                view = view[handle.write(view) or 0 :]
            os.fsync(handle.fileno())
        except OSError:
            # A short write (disk full) must not leave a torn line for the next payload to follow.
            handle.seek(self._size)
            handle.truncate(self._size)
            raise
        self._size += len(payload)
        if self._size >= self.max_file_bytes:
            self.roll()

    def roll_if_due(self) -> None:
        if self._handle is not None and self._clock() - self._opened_at >= self.roll_interval_s:
            self.roll()

    def roll(self) -> None:
        """Close the current file and publish it under its final name."""
        if self._handle is None or self._part is None:
            return
        self._handle.close()
        self._handle = None
        part, self._part = self._part, None
        if self._size == 0:
            part.unlink(missing_ok=True)
            return
        final = part.with_name(part.name.removesuffix(PART_SUFFIX))
        os.replace(part, final)
        _fsync_dir(self.directory)

    def _open(self) -> FileIO:
        now = self._clock()
        stamp = datetime.fromtimestamp(now, UTC)
        base = f"{self.prefix}-{stamp:%Y%m%dT%H%M%S}{stamp.microsecond // 1000:03d}Z"
        # The counter orders files opened within one millisecond; it skips names an earlier run used.
        while True:
            name = f"{base}-{self._opened:04d}"
            self._opened += 1
            taken = self.directory / f"{name}{FILE_SUFFIX}"
            if not taken.exists() and not taken.with_name(taken.name + PART_SUFFIX).exists():
                break
        self._part = self.directory / f"{name}{FILE_SUFFIX}{PART_SUFFIX}"
        # Unbuffered: a failed write leaves no buffered remainder to land after the truncation.
        self._handle = FileIO(self._part, "xb")
        _fsync_dir(self.directory)
        self._opened_at = now
        self._size = 0
        return self._handle


def recover_parts(directory: Path) -> list[Path]:
    """Finish `.part` files a crash left behind: cut a torn last line, rename, return the new names."""
    finished = []
    for part in sorted(directory.glob(f"*{FILE_SUFFIX}{PART_SUFFIX}")):
        data = part.read_bytes()
        keep = data[: data.rfind(b"\n") + 1]
        if not keep:
            part.unlink()
            continue
        if len(keep) != len(data):
            with part.open("r+b") as handle:
                handle.truncate(len(keep))
                os.fsync(handle.fileno())
        final = part.with_name(part.name.removesuffix(PART_SUFFIX))
        os.replace(part, final)
        finished.append(final)
        log.warning(
            "finished %s left open by an earlier run (%d bytes of a torn line cut; those entries come again)",
            final.name,
            len(data) - len(keep),
            extra={"event": "local_part_recovered", "file": str(final)},
        )
    if finished:
        _fsync_dir(directory)
    return finished


def _fsync_dir(directory: Path) -> None:
    # A rename is durable only once the directory entry is on disk.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalFilesTransport:
    """Writes entry payloads and health messages to rolling NDJSON files (see the module docstring)."""

    kind = "local"

    def __init__(
        self,
        directory: Path,
        *,
        store_id: str,
        gateway_id: str,
        max_file_bytes: int,
        roll_interval_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._streams = {
            "entries": RollingFile(
                directory,
                f"entries-{store_id}-{gateway_id}",
                max_file_bytes=max_file_bytes,
                roll_interval_s=roll_interval_s,
                clock=clock,
            ),
            "health": RollingFile(
                directory / "health",
                f"health-{store_id}-{gateway_id}",
                max_file_bytes=max_file_bytes,
                roll_interval_s=roll_interval_s,
                clock=clock,
            ),
        }
        self._last_error: str | None = None

    def wait_ready(self, timeout_s: float) -> bool:
        return True

    def publish(self, topic: str, payload: bytes, timeout_s: float) -> None:
        stream = self._streams.get(topic.rsplit("/", 1)[-1])
        if stream is None:
            raise TransportError(f"local transport has no file stream for topic {topic}")
        try:
            with self._lock:
                stream.write(payload)
        except OSError as error:
            self._last_error = f"cannot write {stream.directory}: {error.strerror or error}"
            raise TransportError(self._last_error) from error
        self._last_error = None

    def maintain(self) -> None:
        with self._lock:
            for stream in self._streams.values():
                stream.roll_if_due()

    def status(self) -> TransportStatus:
        return TransportStatus(
            kind=self.kind, connected=True, last_error=self._last_error, connect_failures=0
        )

    def close(self) -> None:
        with self._lock:
            for stream in self._streams.values():
                stream.roll()
