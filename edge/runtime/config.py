"""The gateway configuration (`anonflow edge --config CONFIG.yaml`): typed, bounded, closed to typos.

Relative paths are taken from the working directory (under Greengrass: the component's work folder).
`load_config` turns every mistake into one line naming the field, e.g.
`gateway.yaml: cameras.0.fps: Input should be greater than 0 (got -1)`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, FilePath, field_validator, model_validator

from anonflow.contract.entry import Identifier
from anonflow.contract.errors import InputError
from anonflow.contract.settings import (
    StrictModel,
    TimeZoneName,
    expect_mapping,
    read_yaml,
    validate_config,
)
from anonflow.edge.appearance import MIN_SECRET_BYTES
from anonflow.edge.config import CameraChainConfig
from anonflow.edge.runtime.batch import DEFAULT_MAX_PAYLOAD_BYTES, IOT_CORE_MAX_PAYLOAD_BYTES

# Reads a secret's value by its ARN (under Greengrass: the nucleus's secret manager over IPC).
SecretReader = Callable[[str], bytes]

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB


def is_stream_url(source: str | int) -> bool:
    return isinstance(source, str) and "://" in source


class CameraConfig(StrictModel):
    """One camera: where frames come from, how often to analyse them, and its chain settings."""

    id: Identifier = Field(description="Camera id, unique in the store; the entries topic carries it.")
    source: str | int = Field(
        description="RTSP/HTTP URL (rtsp://...), video file path, or local device index (0 to 63)."
    )
    fps: float = Field(
        5.0, gt=0.0, le=60.0, description="Frames per second to analyse; extra frames are skipped."
    )
    loop: bool = Field(False, description="File sources only: start again at the end instead of finishing.")
    reconnect_min_s: float = Field(
        1.0, gt=0.0, le=60.0, description="First delay before reopening a lost stream."
    )
    reconnect_max_s: float = Field(
        60.0, gt=0.0, le=3600.0, description="Longest delay between reopen attempts."
    )
    chain: CameraChainConfig = Field(
        default_factory=CameraChainConfig, description="Models, gates, zones, lines."
    )

    @field_validator("source", mode="before")
    @classmethod
    def _usable_source(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError("source must be a URL, a file path or a device index")
        if isinstance(value, int):
            if not 0 <= value <= 63:
                raise ValueError(f"device index must be 0 to 63, got {value}")
        elif not value.strip():
            raise ValueError("source must not be empty")
        elif not is_stream_url(value) and not Path(value).expanduser().is_file():
            raise ValueError(f"video file {value} does not exist (a stream needs a URL such as rtsp://...)")
        return value

    @model_validator(mode="after")
    def _ordered_delays(self) -> CameraConfig:
        if self.reconnect_min_s > self.reconnect_max_s:
            raise ValueError("reconnect_min_s must not exceed reconnect_max_s")
        return self


class LocalTransportConfig(StrictModel):
    """NDJSON files in a directory (what the Beam job reads locally); see edge/runtime/transports/local.py."""

    kind: Literal["local"] = "local"
    directory: Path = Field(Path("entries"), description="Where the rolled .ndjson files appear.")
    roll_interval_s: float = Field(60.0, ge=0.1, le=86_400.0, description="Close a file after this long.")
    max_file_bytes: int = Field(16 * MiB, ge=4 * KiB, le=4 * GiB, description="Close a file at this size.")


class MqttTransportConfig(StrictModel):
    """Direct MQTT5 with mutual TLS to an IoT Core endpoint (gateways without Greengrass)."""

    kind: Literal["mqtt"]
    endpoint: str = Field(
        pattern=r"^[A-Za-z0-9.-]{1,253}$",
        description="Broker host, e.g. xxxx-ats.iot.eu-west-1.amazonaws.com.",
    )
    port: int = Field(8883, ge=1, le=65_535, description="Broker TLS port.")
    certificate: FilePath = Field(description="The gateway's client certificate (PEM).")
    private_key: FilePath = Field(description="The certificate's private key (PEM).")
    ca: FilePath | None = Field(None, description="CA bundle to trust (PEM); None: the system trust store.")
    client_id: Identifier | None = Field(None, description="MQTT client id; None: the gateway id.")
    keep_alive_s: int = Field(60, ge=5, le=1200, description="MQTT keep-alive interval.")
    ack_timeout_s: float = Field(30.0, ge=1.0, le=600.0, description="How long to wait for a PUBACK.")
    reconnect_min_s: float = Field(1.0, ge=0.1, le=60.0, description="First reconnect delay.")
    reconnect_max_s: float = Field(60.0, ge=1.0, le=3600.0, description="Longest reconnect delay.")


class GreengrassTransportConfig(StrictModel):
    """IPC PublishToIoTCore through the Greengrass nucleus (the component's default)."""

    kind: Literal["greengrass"]
    ack_timeout_s: float = Field(30.0, ge=1.0, le=600.0, description="How long to wait for the IPC response.")


TransportConfig = Annotated[
    LocalTransportConfig | MqttTransportConfig | GreengrassTransportConfig, Field(discriminator="kind")
]


class SpoolConfig(StrictModel):
    """The on-disk spool that holds entries until the transport acknowledges them."""

    directory: Path = Field(Path("spool"), description="Directory of the SQLite spool file (local disk).")
    max_bytes: int = Field(
        256 * MiB,
        ge=256 * KiB,
        le=1024 * GiB,
        description="Bound on spooled entry bytes; oldest evicted beyond.",
    )


class BatchConfig(StrictModel):
    """How spooled entries are packed into messages."""

    max_payload_bytes: int = Field(
        DEFAULT_MAX_PAYLOAD_BYTES,
        ge=4 * KiB,
        le=IOT_CORE_MAX_PAYLOAD_BYTES - KiB,
        description="Payload budget of one message (IoT Core allows 128 KB including topic and properties).",
    )
    retry_min_s: float = Field(0.5, gt=0.0, le=60.0, description="First delay after a failed publish.")
    retry_max_s: float = Field(30.0, gt=0.0, le=3600.0, description="Longest delay between failed publishes.")


class HealthConfig(StrictModel):
    """How often the gateway reports its health."""

    interval_s: float = Field(60.0, ge=0.2, le=3600.0, description="Seconds between health messages.")


# A Secrets Manager secret's ARN (any partition); the name part as Secrets Manager allows it.
SECRET_ARN_PATTERN = r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$"


class AppearanceConfig(StrictModel):
    """What keys the appearance groups: a per-store secret and the store's local day (edge.appearance)."""

    secret_file: FilePath | None = Field(
        None,
        description="File holding the store's appearance secret (at least 16 bytes), the same on every "
        "gateway of the store; provisioned like the device certificates, never sent anywhere. None: a "
        "random secret per process (groups still unlinkable, but not shared between the store's gateways).",
    )
    secret_arn: Annotated[str, Field(pattern=SECRET_ARN_PATTERN, max_length=2048)] | None = Field(
        None,
        description="ARN of the store's appearance secret in AWS Secrets Manager, delivered to the device "
        "by Greengrass's secret manager component and read over IPC (never written to disk by the "
        "gateway); what the infrastructure provisions. Only under Greengrass; exclusive with secret_file.",
    )
    time_zone: TimeZoneName = Field(
        "UTC", description="IANA time zone of the store; days are cut at its midnight."
    )

    @model_validator(mode="after")
    def _one_secret_source(self) -> AppearanceConfig:
        if self.secret_file is not None and self.secret_arn is not None:
            raise ValueError("set secret_file or secret_arn, not both")
        return self

    def secret(self, read_secret: SecretReader | None = None) -> bytes | None:
        """The secret's bytes (surrounding whitespace stripped), from the file or, for `secret_arn`, from
        `read_secret` (the nucleus's secret manager); InputError if it is too short or cannot be read."""
        if self.secret_arn is not None:
            if read_secret is None:
                raise InputError(
                    "appearance.secret_arn is read from Greengrass's secret manager, which this process "
                    "cannot reach: run as the Greengrass component, or set appearance.secret_file instead"
                )
            where = f"appearance.secret_arn {self.secret_arn}"
            secret = read_secret(self.secret_arn).strip()
        elif self.secret_file is not None:
            where = f"appearance.secret_file {self.secret_file}"
            secret = self.secret_file.read_bytes().strip()
        else:
            return None
        if len(secret) < MIN_SECRET_BYTES:
            raise InputError(
                f"{where}: the secret must be at least {MIN_SECRET_BYTES} bytes, got {len(secret)}"
            )
        return secret


class GatewayConfig(StrictModel):
    """One gateway process: a store's cameras, where entries go, and how they are kept until then."""

    store_id: Identifier = Field(description="Store id; first level of every topic.")
    gateway_id: Identifier = Field(description="This gateway's id (under Greengrass: the thing name).")
    model_dir: Path | None = Field(
        None, description="Model directory as shipped (may be read-only); None: $ANONFLOW_MODEL_DIR."
    )
    derived_model_dir: Path | None = Field(
        None,
        description="Writable directory where the gateway makes, once, the int8 pose model the defaults "
        "run (about 3x faster than the float one), calibrated on frames of its own cameras, beside links "
        "to the shipped files. None: run from `model_dir` as it is (int8 only if it already holds it).",
    )
    threads: int = Field(1, ge=1, le=16, description="ONNX Runtime threads per camera's pose model.")
    cameras: list[CameraConfig] = Field(min_length=1, max_length=32, description="The cameras to analyse.")
    transport: TransportConfig = Field(default_factory=LocalTransportConfig, description="Where entries go.")
    spool: SpoolConfig = Field(default_factory=SpoolConfig, description="Where entries wait for delivery.")
    batch: BatchConfig = Field(
        default_factory=BatchConfig, description="Message packing and publish retries."
    )
    health: HealthConfig = Field(default_factory=HealthConfig, description="Health reporting.")
    appearance: AppearanceConfig = Field(
        default_factory=AppearanceConfig, description="Per-store, per-day keying of appearance groups."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Least level logged.")

    @model_validator(mode="after")
    def _unique_cameras(self) -> GatewayConfig:
        ids = [camera.id for camera in self.cameras]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"camera ids must be unique, repeated: {', '.join(repeated)}")
        if self.spool.max_bytes < self.batch.max_payload_bytes:
            raise ValueError("spool.max_bytes must be at least batch.max_payload_bytes")
        return self


def parse_config(data: Any, where: str) -> GatewayConfig:
    """Validate already-parsed settings (a YAML file's content, or a Greengrass component configuration)."""
    return validate_config(expect_mapping(data, where), GatewayConfig, where)


def load_config(path: Path) -> GatewayConfig:
    """Read and validate a gateway YAML file; InputError (one line) on any problem."""
    return parse_config(read_yaml(path, "gateway config"), str(path))
