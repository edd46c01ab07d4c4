"""Greengrass packaging fixtures: a stand-in for the nucleus IPC client, and logging kept tidy."""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from awsiot.greengrasscoreipc import model


class FakeNucleus:
    """Stands in for `GreengrassCoreIPCClientV2`, because no Greengrass nucleus (and so no IPC socket)
    exists in the test environment. It serves the component configuration and records every
    PublishToIoTCore request, answering as the nucleus does, plays configuration updates to the
    component's subscription, and serves the secrets the secret manager component would hold."""

    def __init__(self, configuration: dict[str, Any], secrets: dict[str, Any] | None = None) -> None:
        self.configuration = configuration
        # ARN -> secret string, or an exception the secret manager answers with (as the nucleus does).
        self.secrets = secrets or {}
        self.requests: list[dict[str, Any]] = []
        self.closed = False
        self.on_update: Any = None

    def subscribe_to_configuration_update(
        self, *, key_path: list[str], on_stream_event: Any
    ) -> tuple[Any, Any]:
        """Keeps the handler; `update` plays the nucleus applying a deployment's configuration."""
        self.on_update = on_stream_event
        return model.SubscribeToConfigurationUpdateResponse(), None

    def update(self, configuration: dict[str, Any]) -> None:
        self.configuration = configuration
        if self.on_update is not None:
            self.on_update(model.ConfigurationUpdateEvents())

    def get_configuration(self, *, key_path: list[str]) -> model.GetConfigurationResponse:
        value: Any = self.configuration
        for key in key_path:
            value = value[key]
        return model.GetConfigurationResponse(component_name="dev.anonflow.Gateway", value=value)

    def get_secret_value(self, *, secret_id: str) -> model.GetSecretValueResponse:
        """As aws.greengrass.SecretManager answers: the value it holds, or its error for this ARN."""
        held = self.secrets.get(secret_id)
        if held is None:
            raise model.ResourceNotFoundError(message=f"Secret not found {secret_id}")
        if isinstance(held, Exception):
            raise held
        return model.GetSecretValueResponse(
            secret_id=secret_id, secret_value=model.SecretValue(secret_string=held)
        )

    def publish_to_iot_core_async(
        self, *, topic_name: str, qos: str, payload: bytes, content_type: str
    ) -> concurrent.futures.Future[Any]:
        self.requests.append(
            {"topic": topic_name, "qos": qos, "payload": payload, "content_type": content_type}
        )
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        future.set_result(model.PublishToIoTCoreResponse())
        return future

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_nucleus() -> type[FakeNucleus]:
    return FakeNucleus


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The packagings install JSON logging on the root logger; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
