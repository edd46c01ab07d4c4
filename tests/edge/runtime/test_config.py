"""Gateway configuration: good files load; every mistake is one line naming the field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from anonflow.contract.errors import InputError
from anonflow.edge.runtime.config import GatewayConfig, LocalTransportConfig, MqttTransportConfig, load_config


def base(video: Path) -> dict[str, Any]:
    return {
        "store_id": "store1",
        "gateway_id": "gw1",
        "cameras": [
            {"id": "entrance", "source": str(video), "fps": 5},
            {"id": "aisle", "source": "rtsp://user:secret@10.0.0.7:554/stream1"},
            {
                "id": "usb",
                "source": 0,
                "chain": {"zones": [{"id": "door", "polygon": [[0, 0], [1, 0], [1, 1]]}]},
            },
        ],
    }


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def test_a_good_file_loads_with_documented_defaults(tmp_path: Path, video_dir: Path) -> None:
    config = load_config(write(tmp_path, base(video_dir / "vtest-480x360.avi")))

    assert [c.id for c in config.cameras] == ["entrance", "aisle", "usb"]
    assert config.cameras[2].source == 0
    assert isinstance(config.transport, LocalTransportConfig)
    assert config.batch.max_payload_bytes < 128 * 1024
    assert config.cameras[2].chain.zones[0].id == "door"


def test_every_field_is_described() -> None:
    def walk(model: type[Any]) -> list[str]:
        missing = []
        for name, field in model.model_fields.items():
            if not field.description and name not in {"kind", "chain"}:
                missing.append(f"{model.__name__}.{name}")
            annotation = field.annotation
            for candidate in getattr(annotation, "__args__", (annotation,)):
                if (
                    isinstance(candidate, type)
                    and hasattr(candidate, "model_fields")
                    and candidate.__module__ == (GatewayConfig.__module__)
                ):
                    missing += walk(candidate)
        return missing

    assert walk(GatewayConfig) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda c: c.update(stor_id="x"), "gateway.yaml: stor_id: unknown key"),
        (lambda c: c["cameras"][0].update(fsp=5), "gateway.yaml: cameras.0.fsp: unknown key"),
        (lambda c: c["cameras"][0].update(fps=-1), "cameras.0.fps: Input should be greater than 0 (got -1)"),
        (
            lambda c: c["cameras"][1].update(source=99),
            "cameras.1.source: device index must be 0 to 63, got 99",
        ),
        (
            lambda c: c["cameras"][0].update(source="/nope.mp4"),
            "cameras.0.source: video file /nope.mp4 does not exist (a stream needs a URL such as rtsp://...)",
        ),
        (
            lambda c: c["cameras"][2]["chain"].update(pose_modle="x"),
            "cameras.2.chain.pose_modle: unknown key",
        ),
        (lambda c: c.update(store_id="bad store"), "store_id: String should match pattern"),
        (lambda c: c.pop("gateway_id"), "gateway.yaml: gateway_id: required key missing"),
        (lambda c: c.update(cameras=[]), "cameras: List should have at least 1 item"),
        (
            lambda c: c["cameras"].append(dict(c["cameras"][0])),
            "camera ids must be unique, repeated: entrance",
        ),
        (lambda c: c.update(transport={"kind": "carrier-pigeon"}), "transport: Input tag 'carrier-pigeon'"),
        (
            lambda c: c.update(transport={"kind": "mqtt", "endpoint": "x.example"}),
            "transport.mqtt.certificate: required",
        ),
        (
            lambda c: c.update(spool={"max_bytes": 10}),
            "spool.max_bytes: Input should be greater than or equal to",
        ),
        (
            lambda c: c.update(batch={"max_payload_bytes": 200_000}),
            "batch.max_payload_bytes: Input should be less",
        ),
        (
            lambda c: c.update(health={"interval_s": "soon"}),
            "health.interval_s: Input should be a valid number",
        ),
        (
            lambda c: c.update(appearance={"time_zone": "Mars/Olympus"}),
            "appearance.time_zone: unknown IANA time zone 'Mars/Olympus'",
        ),
        (
            lambda c: c.update(appearance={"secret_file": "/no/such/secret"}),
            "appearance.secret_file: Path does not point to a file",
        ),
    ],
)
def test_a_mistake_is_one_line_naming_the_field(
    tmp_path: Path, video_dir: Path, change: Any, expected: str
) -> None:
    data = base(video_dir / "vtest-480x360.avi")
    change(data)

    with pytest.raises(InputError) as raised:
        load_config(write(tmp_path, data))

    message = str(raised.value)
    assert "\n" not in message
    assert expected in message
    assert message.startswith(str(tmp_path / "gateway.yaml"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("store_id: [unclosed", "line 1"),
        ("- just\n- a list\n", "expected a mapping of settings, got list"),
        ("", "expected a mapping of settings, got NoneType"),
    ],
)
def test_a_broken_file_is_one_line(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(InputError, match=expected):
        load_config(write(tmp_path, text))


def test_missing_certificate_files_are_named(tmp_path: Path, video_dir: Path) -> None:
    data = base(video_dir / "vtest-480x360.avi")
    data["transport"] = {
        "kind": "mqtt",
        "endpoint": "abc-ats.iot.eu-west-1.amazonaws.com",
        "certificate": str(tmp_path / "missing.pem"),
        "private_key": str(tmp_path / "missing.key"),
    }
    with pytest.raises(InputError, match=r"transport\.mqtt\.certificate: Path does not point to a file"):
        load_config(write(tmp_path, data))
    (tmp_path / "missing.pem").write_text("x")
    (tmp_path / "missing.key").write_text("x")
    assert isinstance(load_config(write(tmp_path, data)).transport, MqttTransportConfig)


def test_the_cli_prints_one_line_and_exits_2(tmp_path: Path, video_dir: Path) -> None:
    data = base(video_dir / "vtest-480x360.avi")
    data["cameras"][0]["fps"] = 0
    path = write(tmp_path, data)

    done = subprocess.run(
        [sys.executable, "-m", "anonflow.cli.main", "edge", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"anonflow edge: error: {path}: cameras.0.fps: Input should be greater than 0 (got 0)"
    ]


def test_the_greengrass_transport_outside_greengrass_is_one_line(
    tmp_path: Path, video_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = base(video_dir / "vtest-480x360.avi")
    data["transport"] = {"kind": "greengrass"}
    data["spool"] = {"directory": str(tmp_path / "spool")}
    monkeypatch.delenv("AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT", raising=False)

    done = subprocess.run(
        [sys.executable, "-m", "anonflow.cli.main", "edge", "--config", str(write(tmp_path, data))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "anonflow edge: error: the greengrass transport needs the nucleus IPC socket "
        "($AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT is not set): run as a Greengrass component, "
        "or choose transport kind mqtt or local"
    ]


def test_check_validates_without_running(tmp_path: Path, video_dir: Path) -> None:
    path = write(tmp_path, base(video_dir / "vtest-480x360.avi"))

    done = subprocess.run(
        [sys.executable, "-m", "anonflow.cli.main", "edge", "--config", str(path), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "ok: store store1, gateway gw1, transport local, cameras entrance (5 fps)" in done.stdout


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"0123456789abcdef0123\n", None),
        (b"short\n", "the secret must be at least 16 bytes, got 5"),
    ],
)
def test_the_appearance_secret_is_read_from_its_file_only(
    tmp_path: Path, video_dir: Path, content: bytes, error: str | None
) -> None:
    secret = tmp_path / "appearance.secret"
    secret.write_bytes(content)
    data = {**base(video_dir / "vtest-480x360.avi"), "appearance": {"secret_file": str(secret)}}
    config = load_config(write(tmp_path, data))
    assert content.strip().decode() not in repr(config)  # only the path is held, never the secret
    if error is None:
        assert config.appearance.secret() == content.strip()
    else:
        with pytest.raises(InputError, match=error):
            config.appearance.secret()
