"""The store's appearance secret read from Greengrass's secret manager by ARN. No nucleus exists here, so
`fake_nucleus` stands in for the IPC client and answers as the secret manager component does."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from awsiot.greengrasscoreipc import model

from anonflow.contract.errors import InputError
from anonflow.edge.greengrass import main as component
from anonflow.edge.greengrass.store_secret import nucleus_secrets
from anonflow.edge.runtime.config import AppearanceConfig, parse_config
from anonflow.edge.runtime.transports import greengrass as ipc_transport
from tests.edge.greengrass.test_main import configuration

ARN = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:anonflow-dev/stores/s1/appearance-AbCdEf"
SECRET = "9f2c" * 16


def test_the_secret_is_read_by_its_arn(fake_nucleus: Any) -> None:
    read = nucleus_secrets(fake_nucleus({}, {ARN: SECRET}))
    assert AppearanceConfig(secret_arn=ARN).secret(read) == SECRET.encode()


@pytest.mark.parametrize(
    ("held", "error"),
    [
        (None, "the secret manager component does not hold it; deploy aws.greengrass.SecretManager"),
        (model.UnauthorizedError(message="no"), "this component may not read it; the recipe's accessControl"),
        (model.ServiceError(message="decrypt failed"), "the secret manager failed: "),
        ("short", "the secret must be at least 16 bytes, got 5"),
    ],
    ids=["not-deployed", "not-allowed", "service-error", "too-short"],
)
def test_a_secret_that_cannot_be_used_is_one_line(fake_nucleus: Any, held: Any, error: str) -> None:
    read = nucleus_secrets(fake_nucleus({}, {ARN: held} if held is not None else {}))
    with pytest.raises(InputError) as raised:
        AppearanceConfig(secret_arn=ARN).secret(read)
    message = str(raised.value)
    assert error in message and ARN in message and "\n" not in message


def test_an_arn_outside_greengrass_is_refused_not_replaced_by_a_random_key() -> None:
    # Without the nucleus the gateway must not fall back silently to a per-process key (groups would no
    # longer match across the store's gateways): it stops with one line naming the way out.
    with pytest.raises(InputError, match=r"set appearance\.secret_file instead"):
        AppearanceConfig(secret_arn=ARN).secret(None)


@pytest.mark.parametrize(
    ("appearance", "error"),
    [
        ({"secret_arn": "arn:aws:s3:::bucket/key"}, "appearance.secret_arn: String should match pattern"),
        ({"secret_arn": ARN, "secret_file": "/etc/hostname"}, "set secret_file or secret_arn, not both"),
    ],
)
def test_bad_secret_settings_are_one_line(appearance: dict[str, str], error: str) -> None:
    with pytest.raises(InputError, match=re.escape(error)):
        camera = {"id": "door", "source": "rtsp://10.0.0.9/s"}
        settings = {
            "store_id": "s1",
            "gateway_id": "gw1",
            "cameras": [camera],
            "transport": {"kind": "local"},
        }
        parse_config({**settings, "appearance": appearance}, "test")


def test_the_component_starts_with_the_deployed_secret_and_stops_without_it(
    tmp_path: Path,
    video_dir: Path,
    fake_nucleus: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    """The real component process: with the secret held it builds its chains; the same deployment without
    the secret (the positive control) exits 2 with one line instead of grouping with a random key."""
    configured = configuration(tmp_path, video_dir, appearance={"secret_arn": ARN})
    monkeypatch.setenv("AWS_IOT_THING_NAME", "store1-gw1")
    read: list[str] = []

    class Recording(fake_nucleus):  # type: ignore[misc, valid-type]
        def get_secret_value(self, *, secret_id: str) -> Any:
            read.append(secret_id)
            return super().get_secret_value(secret_id=secret_id)

    monkeypatch.setattr(ipc_transport, "connect_ipc", lambda: Recording(configured, {ARN: SECRET}))
    assert component.main([]) == 0  # the file camera ends, everything is delivered, the process exits
    assert read == [ARN]
    monkeypatch.setattr(ipc_transport, "connect_ipc", lambda: fake_nucleus(configured, {}))
    assert component.main([]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "does not hold it" in err and ARN in err
