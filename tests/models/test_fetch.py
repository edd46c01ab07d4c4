"""`anonflow models fetch`: a mirror download that keeps only bytes matching the manifest's sha256."""

from __future__ import annotations

import functools
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from anonflow.edge.modelfiles.registry import spec

Cli = Callable[..., Any]  # the `cli` fixture: run(*argv) -> Run(code, out, err)


ATTRIBUTES = spec("person-attributes-0230")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[Callable[[Path], str]]:
    """Serve a directory over HTTP on 127.0.0.1; returns its base URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(directory: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(directory))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _refusing_url() -> str:
    with socket.socket() as sock:  # a port nobody listens on once this socket is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_fetch_downloads_and_verifies(
    cli: Cli, serve: Callable[[Path], str], model_dir: Path, tmp_path: Path
) -> None:
    mirror = serve(model_dir)
    target = tmp_path / "fresh"
    target.mkdir()

    run = cli("fetch", ATTRIBUTES.name, "--model-dir", target, "--mirror", mirror)

    assert run.code == 0, run.err
    assert (target / ATTRIBUTES.file).read_bytes() == (model_dir / ATTRIBUTES.file).read_bytes()
    assert cli("verify", ATTRIBUTES.name, "--model-dir", target).code == 0


def test_fetch_refuses_bytes_that_do_not_match(
    cli: Cli, serve: Callable[[Path], str], model_dir: Path, tmp_path: Path
) -> None:
    tampered = tmp_path / "mirror" / ATTRIBUTES.file
    tampered.parent.mkdir(parents=True)
    shutil.copyfile(model_dir / ATTRIBUTES.file, tampered)
    with tampered.open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00\x01\x02\x03")
    target = tmp_path / "fresh"
    target.mkdir()

    run = cli("fetch", ATTRIBUTES.name, "--model-dir", target, "--mirror", serve(tmp_path / "mirror"))

    assert run.code == 2
    assert "does not match the manifest" in run.err and ATTRIBUTES.sha256 in run.err
    assert len(run.err.strip().splitlines()) == 1
    assert [p for p in target.rglob("*") if p.is_file()] == []  # neither the file nor a partial download


@pytest.mark.parametrize(
    ("mirror", "expected"),
    [
        ("refusing", "Connection refused"),
        ("empty", "HTTP 404"),
        (None, "no mirror for person-attributes-0230"),
    ],
)
def test_fetch_errors_are_one_line(
    cli: Cli,
    serve: Callable[[Path], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mirror: str | None,
    expected: str,
) -> None:
    monkeypatch.delenv("ANONFLOW_MODEL_MIRROR", raising=False)
    (tmp_path / "empty").mkdir()
    urls = {"refusing": _refusing_url(), "empty": serve(tmp_path / "empty")}
    args = ["--mirror", urls[mirror]] if mirror else []

    run = cli("fetch", ATTRIBUTES.name, "--model-dir", tmp_path, "--timeout", "5", *args)

    assert run.code == 2
    assert expected in run.err
    assert len(run.err.strip().splitlines()) == 1
    assert not (tmp_path / ATTRIBUTES.file).exists()


def test_fetch_of_a_derived_model_says_how_it_is_made(cli: Cli, tmp_path: Path) -> None:
    run = cli("fetch", "openpose-lightweight-int8", "--model-dir", tmp_path, "--mirror", "http://127.0.0.1:9")

    assert run.code == 2
    assert "made locally" in run.err and "anonflow models quantize" in run.err


def test_fetch_keeps_a_verified_file_without_network(cli: Cli, writable_models: Path) -> None:
    run = cli("fetch", ATTRIBUTES.name, "--model-dir", writable_models, "--mirror", _refusing_url())

    assert run.code == 0, run.err
