"""Fixtures for the dataflow tests: a moto server and dummy AWS credentials for it.

`storeday` (the synthetic store-day generator) comes from tests/conftest.py.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from anonflow.dataflow import pipeline
from tests.dataflow.builders import PublishExact


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real moto server (S3, Kinesis, ...) on a free local port, for the whole session."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Dummy credentials for the local moto server (boto3 clients made without explicit keys use them)."""
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-central-1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return env


@pytest.fixture
def exact_release(monkeypatch: pytest.MonkeyPatch) -> None:
    """The job publishes true rows (`PublishExact`) instead of running the release, for this test."""
    monkeypatch.setattr(pipeline, "ProtectCells", PublishExact)
