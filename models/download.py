"""Streamed, hashed downloads into a cache: a file appears under its final name only when its sha256 is
the pinned one; on any failure (HTTP error, no network, truncated body, full disk, wrong bytes) the
partial file is removed and the caller gets one `DownloadError` line naming the URL and what went wrong.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from tqdm import tqdm

from anonflow.contract.errors import AnonflowError

CACHE_ENV = "ANONFLOW_CACHE_DIR"
_BLOCK = 1 << 20

# Opens the partial file a download streams into. Tests inject one whose writes fail with ENOSPC to play a
# full disk (no small filesystem can be mounted where the tests run).
Sink = Callable[[Path], BinaryIO]


class DownloadError(AnonflowError):
    """A download failed; nothing was kept."""


def cache_dir() -> Path:
    """Where downloads are kept: $ANONFLOW_CACHE_DIR, else $XDG_CACHE_HOME/anonflow, else ~/.cache/anonflow"""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "anonflow"


def swap_host(url: str, mirror: str | None) -> str:
    """`url` with its scheme and host (and nothing else) replaced by the mirror's base URL."""
    if not mirror:
        return url
    return mirror.rstrip("/") + urlsplit(url).path


def open_partial(path: Path) -> BinaryIO:
    return path.open("wb")


def download(
    url: str,
    target: Path,
    sha256: str,
    timeout_s: float = 30.0,
    *,
    label: str = "",
    sink: Sink = open_partial,
) -> Path:
    """Stream `url` into `target` (via `target.part`, with a progress bar on a terminal); keep it only if
    the whole body arrived and its sha256 is `sha256`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    digest, received, length = hashlib.sha256(), 0, None
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            length = int(response.headers.get("Content-Length") or 0) or None
            bar = tqdm(
                total=length, unit="B", unit_scale=True, desc=label or target.name, disable=None, leave=False
            )
            with bar, sink(partial) as out:
                while block := response.read(_BLOCK):
                    digest.update(block)
                    out.write(block)
                    received += len(block)
                    bar.update(len(block))
    except urllib.error.HTTPError as error:
        partial.unlink(missing_ok=True)
        raise DownloadError(f"cannot download {url}: HTTP {error.code} {error.reason}") from None
    except http.client.IncompleteRead as error:
        partial.unlink(missing_ok=True)
        got = received + len(error.partial)
        raise DownloadError(_truncated(url, got, got + (error.expected or 0))) from None
    except urllib.error.URLError as error:
        partial.unlink(missing_ok=True)
        raise DownloadError(f"cannot download {url}: {error.reason} (no network, or host down?)") from None
    except TimeoutError:
        partial.unlink(missing_ok=True)
        raise DownloadError(f"download of {url} timed out after {timeout_s:g} s without data") from None
    except OSError as error:
        partial.unlink(missing_ok=True)
        if error.errno == errno.ENOSPC:
            raise DownloadError(
                f"no space left on the device of {target.parent} while downloading {url} "
                f"({received} bytes written, removed); free space or set {CACHE_ENV}"
            ) from None
        reason = error.strerror or error
        raise DownloadError(f"cannot download {url} into {target.parent}: {reason}") from None
    except http.client.HTTPException as error:
        partial.unlink(missing_ok=True)
        raise DownloadError(f"cannot download {url}: {type(error).__name__} {error}") from None
    if length is not None and received < length:
        partial.unlink(missing_ok=True)
        raise DownloadError(_truncated(url, received, length))
    if digest.hexdigest() != sha256:
        partial.unlink(missing_ok=True)
        raise DownloadError(
            f"download from {url} does not match the manifest (expected sha256 {sha256}, "
            f"got {digest.hexdigest()}, {received} bytes); nothing was kept"
        )
    os.replace(partial, target)
    return target


def _truncated(url: str, received: int, length: int) -> str:
    return (
        f"download of {url} stopped after {received} of {length} bytes (truncated: connection dropped); "
        "nothing was kept, run the command again"
    )


def cached(
    url: str, sha256: str, folder: str, mirror: str | None, timeout_s: float, *, sink: Sink = open_partial
) -> Path:
    """The verified cached copy of `url` (downloaded from the mirror's host if absent or bad)."""
    path = cache_dir() / folder / urlsplit(url).path.lstrip("/")
    if path.is_file() and _sha256(path) == sha256:
        return path
    return download(swap_host(url, mirror), path, sha256, timeout_s, label=path.name, sink=sink)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()
