"""Entry files (local directory, glob or S3/GCS prefix; plain or gzip NDJSON) -> (source, line) pairs."""

from __future__ import annotations

import gzip
from pathlib import Path

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from anonflow.contract.errors import InputError

# Files still being written by the local transport or by `anonflow analyze`.
_PARTIAL_SUFFIX = ".part"
_GZIP_MAGIC = b"\x1f\x8b"


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


class ReadEntryFiles(beam.PTransform):
    """Lines of NDJSON entry files, keyed by `file:line-number` so a dead letter says where it came from.

    The file list is resolved when the pipeline is built; an input with no files is not an error (an
    empty day is a valid day) but is counted by the caller.
    """

    def __init__(self, files: list[str]) -> None:
        super().__init__()
        self._files = files

    def expand(self, pipeline: beam.pvalue.PBegin) -> beam.PCollection:
        return pipeline | "Files" >> beam.Create(self._files) | "Lines" >> beam.FlatMap(_numbered_lines)


def _numbered_lines(path: str) -> list[tuple[str, str]]:
    # Firehose may gzip objects under any name: decide by the content, not the extension.
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        data = handle.read()
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:  # a cut-off upload: its lines are unusable, say so
            return [(path, f"unreadable gzip data: {error}")]
    text = data.decode("utf-8", errors="replace")
    return [
        (f"{path}:{number}", line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()
    ]
