"""The store's appearance secret, read over IPC from the secret manager component at every start."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import anonflow.edge.greengrass.main as component
import anonflow.edge.runtime.gateway as gateway_module
import anonflow.edge.runtime.transports.greengrass as ipc_transport
from anonflow.contract.errors import InputError
from anonflow.edge.greengrass.secrets import appearance_secret
from anonflow.edge.runtime.config import parse_config
from anonflow.edge.runtime.gateway import model_chains

ARN = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:anonflow/appearance/store1-AbCdEf"
VALUE = "k3y-of-store1-0123456789abcdef"


@pytest.mark.parametrize(
    ("secrets", "expected", "error"),
    [
        ({ARN: VALUE}, VALUE.encode(), None),
        ({ARN: f"  {VALUE}\n"}, VALUE.encode(), None),
        ({}, None, "GetSecretValue failed (ResourceNotFoundError)"),
        ({ARN: "short"}, None, "must be at least 16 bytes, got 5"),
    ],
)
def test_the_secret_is_read_or_refused_in_one_line(
    fake_nucleus: Any, secrets: dict[str, str], expected: bytes | None, error: str | None
) -> None:
    if error is None:
        assert appearance_secret(fake_nucleus({}, secrets), ARN) == expected
        return
    with pytest.raises(InputError, match=re.escape(error)) as raised:
        appearance_secret(fake_nucleus({}, secrets), ARN)
    message = str(raised.value)
    # One line naming the secret by its ARN, never carrying its value.
    assert ARN in message and len(message.splitlines()) == 1
    assert all(value not in message for value in secrets.values())


def _settings(video_dir: Path) -> dict[str, Any]:
    return {
        "gateway": {
            "store_id": "store1",
            "gateway_id": "gw1",
            "cameras": [{"id": "aisle", "source": str(video_dir / "people-detection.gif"), "fps": 5}],
            "transport": {"kind": "greengrass"},
            "appearance": {"secret_arn": ARN, "time_zone": "Europe/Berlin"},
        }
    }


def test_the_component_hands_the_gateway_the_secret_from_the_nucleus(
    fake_nucleus: Any, monkeypatch: pytest.MonkeyPatch, video_dir: Path, restore_logging: None
) -> None:
    given: list[bytes | None] = []

    class Recording:
        def __init__(self, config: Any, *, appearance_secret: bytes | None = None) -> None:
            given.append(appearance_secret)

        def run(self) -> int:
            return 0

    monkeypatch.setenv("AWS_IOT_THING_NAME", "gw1")
    monkeypatch.setattr(
        ipc_transport, "connect_ipc", lambda: fake_nucleus(_settings(video_dir), {ARN: VALUE})
    )
    monkeypatch.setattr(gateway_module, "Gateway", Recording)
    assert component.main([]) == 0
    assert given == [VALUE.encode()]


def test_a_secret_the_nucleus_does_not_hold_stops_the_component_in_one_line(
    fake_nucleus: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    video_dir: Path,
    restore_logging: None,
) -> None:
    monkeypatch.setenv("AWS_IOT_THING_NAME", "gw1")
    monkeypatch.setattr(ipc_transport, "connect_ipc", lambda: fake_nucleus(_settings(video_dir)))
    assert component.main([]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and ARN in err[0] and "GetSecretValue failed" in err[0]


def test_outside_greengrass_the_arn_is_refused_and_a_file_and_an_arn_exclude_each_other(
    video_dir: Path, tmp_path: Path
) -> None:
    config = parse_config(_settings(video_dir)["gateway"] | {"transport": {"kind": "local"}}, "test")
    with pytest.raises(InputError, match="read by the Greengrass component"):
        model_chains(config)
    secret_file = tmp_path / "secret"
    secret_file.write_text(VALUE)
    both = _settings(video_dir)["gateway"] | {
        "appearance": {"secret_arn": ARN, "secret_file": str(secret_file)}
    }
    with pytest.raises(InputError, match="not both"):
        parse_config(both, "test")
