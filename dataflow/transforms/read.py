"""Entry files (local directory, glob or S3/GCS prefix; plain or gzip NDJSON) -> (source, line) pairs.

Files are read as streams, a line at a time, with two caps so that no file can take the worker's
memory: a line longer than `max_line_bytes` is dead-lettered (its start kept) and skipped, and a file
that decompresses to more than `max_file_bytes` is read up to the cap and its rest dead-lettered (a
640 KB gzip bomb would otherwise inflate to gigabytes).
"""

from __future__ import annotations

import gzip
import time
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from anonflow.contract.errors import InputError
from anonflow.dataflow.deadletter import DEAD_LETTER_TAG, RAW_LIMIT, DeadLetter

# Files still being written by the local transport or by `anonflow analyze`.
_PARTIAL_SUFFIX = ".part"
_GZIP_MAGIC = b"\x1f\x8b"
# Skipping the rest of an over-long line reads it in pieces of this size.
_SKIP_CHUNK: Final = 1 << 20


class _Lines(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """Caps on what one file may cost.

    max_line_bytes: longest line kept (an IoT Core message is at most 128 KiB; a Kinesis record 1 MiB).
    max_file_bytes: most bytes read from one file after decompression (Firehose buffers at most 128 MiB
    before it compresses an object).
    """

    max_line_bytes: int = 1 << 20
    max_file_bytes: int = 512 << 20

    def __post_init__(self) -> None:
        if not 1 <= self.max_line_bytes <= self.max_file_bytes:
            raise ValueError(
                "need 1 <= max_line_bytes <= max_file_bytes, "
                f"got {self.max_line_bytes}, {self.max_file_bytes}"
            )


@dataclass(frozen=True, slots=True)
class FileProblem:
    """Part of a file that yields no lines: where (`file:line`, or the file), why, and its first bytes."""

    source: str
    reason: str
    raw: bytes = b""


def entry_files(location: str) -> list[str]:
    """Every readable entries file under `location` (a file, a glob, or a directory/prefix)."""
    is_glob = any(ch in location for ch in "*?[")
    if is_glob:
        pattern = location
    elif _is_directory(location):
        # Everything below it, at any depth (Firehose nests objects by date).
        pattern = FileSystems.join(location.rstrip("/"), "**")
    elif FileSystems.exists(location):
        pattern = location
    else:
        raise InputError(f"input {location} does not exist")
    matched = FileSystems.match([pattern])[0].metadata_list
    return sorted(m.path for m in matched if not m.path.endswith(_PARTIAL_SUFFIX) and m.size_in_bytes > 0)


def _is_directory(location: str) -> bool:
    if "://" not in location:
        return Path(location).is_dir()
    # Object stores have no directories: a prefix is one when something lies below it.
    prefix = location.rstrip("/") + "/"
    return location.endswith("/") or bool(FileSystems.match([prefix + "*"], limits=[1])[0].metadata_list)


def file_lines(path: str, limits: ReadLimits) -> Iterator[tuple[str, str] | FileProblem]:
    """The non-blank lines of one entries file as (`path:line-number`, text), and its problems."""
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        # Firehose may gzip objects under any name: decide by the content, not the extension.
        compressed = handle.read(2) == _GZIP_MAGIC
        handle.seek(0)
        stream: _Lines = gzip.GzipFile(fileobj=handle, mode="rb") if compressed else handle
        yield from _lines(path, stream, limits)


def _lines(path: str, stream: _Lines, limits: ReadLimits) -> Iterator[tuple[str, str] | FileProblem]:
    number = total = 0
    while True:
        try:
            chunk = stream.readline(limits.max_line_bytes + 1)
            number += 1
            total += len(chunk)
            if total > limits.max_file_bytes:
                yield _too_big(path, limits, chunk)
                return
            if not chunk:
                return
            if len(chunk) > limits.max_line_bytes and not chunk.endswith(b"\n"):
                total = yield from _skip_line(path, number, stream, limits=limits, start=chunk, total=total)
                if total > limits.max_file_bytes:
                    return
                continue
        except (OSError, EOFError, zlib.error) as error:  # a cut-off upload: its rest is unusable, say so
            yield FileProblem(f"{path}:{number}", f"unreadable gzip data: {error}")
            return
        text = chunk.decode("utf-8", errors="replace").rstrip("\r\n")
        if text.strip():
            yield (f"{path}:{number}", text)


def _skip_line(
    path: str, number: int, stream: _Lines, *, limits: ReadLimits, start: bytes, total: int
) -> Generator[FileProblem, None, int]:
    """Read past the rest of an over-long line in bounded pieces; returns the file's byte count so far."""
    piece = start
    while piece and not piece.endswith(b"\n"):
        piece = stream.readline(_SKIP_CHUNK)
        total += len(piece)
        if total > limits.max_file_bytes:
            yield _too_big(path, limits, start)
            return total
    yield FileProblem(f"{path}:{number}", f"line longer than {limits.max_line_bytes} bytes", start)
    return total


def _too_big(path: str, limits: ReadLimits, start: bytes) -> FileProblem:
    return FileProblem(
        path,
        f"file holds more than {limits.max_file_bytes} bytes (after decompression); the rest is not read",
        start,
    )


class _ReadFile(beam.DoFn):
    def __init__(self, limits: ReadLimits) -> None:
        self._limits = limits
        self.problems = Metrics.counter("anonflow", "file_problems")

    def process(self, path: str) -> Iterator[object]:
        for item in file_lines(path, self._limits):
            if isinstance(item, FileProblem):
                self.problems.inc()
                now_ms = int(time.time() * 1000)
                dead = DeadLetter.of(item.source, item.reason, item.raw[:RAW_LIMIT], now_ms)
                yield beam.pvalue.TaggedOutput(DEAD_LETTER_TAG, dead)
            else:
                yield item


class ReadEntryFiles(beam.PTransform):
    """Lines of NDJSON entry files, keyed by `file:line-number` so a dead letter says where it came from
    (main output `lines`), and DeadLetters for what cannot be read (output `dead_letter`).

    The file list is resolved when the pipeline is built; an input with no files is not an error (an
    empty day is a valid day) but is counted by the caller.
    """

    def __init__(self, files: list[str], limits: ReadLimits | None = None) -> None:
        super().__init__()
        self._files = files
        self._limits = limits or ReadLimits()

    def expand(self, pipeline: beam.pvalue.PBegin) -> beam.pvalue.DoOutputsTuple:
        return (
            pipeline
            | "Files" >> beam.Create(self._files)
            | "Lines" >> beam.ParDo(_ReadFile(self._limits)).with_outputs(DEAD_LETTER_TAG, main="lines")
        )
