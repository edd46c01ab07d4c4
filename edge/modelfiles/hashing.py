"""File hashes for model verification, cached per file version so a model is hashed once per process."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@cache
def verified(path: Path, size: int, mtime_ns: int, expected: str) -> bool:
    # Keyed on size and mtime so a file replaced on disk is hashed again.
    return sha256_of(path) == expected
