"""Per-environment settings (stores, gateways, sizes, retention, thresholds) read from one YAML file.

`infra/environments/<name>.yaml` is the only thing an operator edits to deploy another environment;
the models reject unknown keys and out-of-range values with the field's path in the message.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import Field, field_validator, model_validator

from anonflow.contract.entry import Identifier
from anonflow.contract.errors import InputError
from anonflow.contract.settings import StrictModel, TimeZoneName, read_mapping, validate_config

ENVIRONMENTS_DIR = Path(__file__).resolve().parent / "environments"
# Relative paths in an environment file (recipe, artifacts, Lambda code) are taken from the repository root.
REPO_ROOT = Path(__file__).resolve().parent.parent

SemVer = Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")]
ThingName = Identifier  # a gateway id is its thing name


class GatewaySpec(StrictModel):
    """One store gateway: its IoT thing and the cameras it analyses."""

    thing_name: ThingName = Field(description="IoT thing name; also the gateway id in its health topic.")
    cameras: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=32,
        description="The gateway's cameras, as the edge's `gateway.cameras` settings (id, source, fps, "
        "chain); deployed as component configuration and validated by the gateway itself.",
    )


class StoreConfig(StrictModel):
    """A store and the Greengrass core devices (IoT things) that may publish its entries."""

    store_id: Identifier = Field(description="Store id; the `store_id` thing attribute and topic level.")
    time_zone: TimeZoneName = Field(description="IANA time zone the store's hours and days are cut in.")
    gateways: list[GatewaySpec] = Field(
        default_factory=list, max_length=64, description="The store's gateways (Greengrass core devices)."
    )


class StreamConfig(StrictModel):
    """The Kinesis data stream the topic rule writes entries to and the Beam job reads."""

    shard_count: int | None = Field(
        None, ge=1, le=64, description="Provisioned shards; leave empty for on-demand capacity."
    )
    retention_hours: int = Field(
        48, ge=24, le=8760, description="How long the stream keeps records for a job that fell behind."
    )


class ArchiveConfig(StrictModel):
    """The Firehose delivery stream writing raw NDJSON to the raw bucket."""

    buffering_interval_s: int = Field(300, ge=0, le=900, description="Longest wait before a file is written.")
    buffering_size_mib: int = Field(64, ge=1, le=128, description="Largest batch before a file is written.")


# Default days raw entries are kept; see RetentionConfig.raw_entries_days for the reasoning.
RAW_ENTRIES_DAYS: Final = 35


class RetentionConfig(StrictModel):
    """Lifecycle of the buckets; audit crops always expire, tables are kept until deleted."""

    audit_crop_days: int = Field(
        7, ge=1, le=365, description="Days an audit crop (anonymous body image) is kept before deletion."
    )
    raw_entries_days: int | None = Field(
        RAW_ENTRIES_DAYS,
        ge=8,
        le=3650,
        description="Days raw NDJSON entries are kept (default 35: the job's longest allowed lateness, "
        "7 days, plus 28 days to notice a problem and backfill within one monthly reporting cycle); at "
        "least 8, so a store-day can always be re-run after its late entries arrived. Empty keeps them "
        "forever, which data minimisation argues against: the tables hold the aggregates.",
    )
    raw_infrequent_access_days: int | None = Field(
        None,
        ge=30,
        le=3650,
        description="Days after which raw NDJSON moves to infrequent access storage (charged for 30 days "
        "at least, so only worth it when raw entries are kept well beyond that); empty: never.",
    )

    @model_validator(mode="after")
    def _transition_before_expiry(self) -> RetentionConfig:
        days, moved = self.raw_entries_days, self.raw_infrequent_access_days
        if days is not None and moved is not None and moved >= days:
            raise ValueError(
                f"raw_infrequent_access_days ({moved}) must be below raw_entries_days ({days}): "
                "objects would expire before they move"
            )
        return self

    athena_results_days: int = Field(30, ge=1, le=365, description="Days Athena query results are kept.")
    dead_letter_days: int = Field(
        30, ge=1, le=365, description="Days a dead letter (rejected input, redacted) is kept for operators."
    )
    noncurrent_version_days: int = Field(
        30, ge=1, le=365, description="Days an overwritten or deleted object version is kept."
    )


class AnalyticsConfig(StrictModel):
    """Glue catalog and Athena workgroup for the analysts."""

    projection_start: dt.date = Field(
        dt.date(2025, 1, 1), description="First date partition projection offers to queries."
    )
    bytes_scanned_cutoff_gib: int = Field(
        10, ge=1, le=1024, description="Athena cancels a query scanning more than this many GiB."
    )


class GreengrassConfig(StrictModel):
    """The gateway software as Greengrass components and the deployment to the fleet."""

    recipe_path: Path = Field(
        Path("edge/greengrass/recipe.yaml"), description="The component recipe (templated as for gdk)."
    )
    artifacts_dir: Path = Field(
        Path("edge/greengrass/greengrass-build/artifacts/{component_name}/{component_version}"),
        description="Directory holding every file the recipe's artifact URIs name, built before deploying "
        "(`{component_name}` and `{component_version}` are filled in; the default is where gdk builds to).",
    )
    component_version: SemVer | None = Field(
        None,
        description="Version registered for the components; empty takes the version in gdk-config.json "
        "beside the recipe. Versions are immutable: bump it with every change.",
    )
    packaging: Literal["component", "lambda"] = Field(
        "component",
        description="What the fleet deployment runs: the native component or the pinned edge Lambda. "
        "Both are registered; only one runs, or each entry would be counted twice.",
    )
    lambda_code_path: Path | None = Field(
        None,
        description="Directory or zip with the edge Lambda's code and dependencies; set it to register the "
        "Lambda component (required when `packaging` is `lambda`).",
    )
    lambda_component_name: str = Field(
        "dev.anonflow.EdgeLambda", pattern=r"^[A-Za-z0-9.]{1,128}$", description="Lambda component name."
    )
    deployment_target: Literal["group", "gateway"] = Field(
        "group",
        description="`group`: one deployment to the thing group, its configuration holding every gateway's "
        "store and cameras under `gateways` (each gateway picks its own by thing name), so every gateway "
        "receives every gateway's camera sources. `gateway`: one deployment per gateway's thing with only "
        "its own settings (least data per device, one deployment per gateway to create and watch).",
    )
    log_manager_version: SemVer | None = Field(
        None,
        description="Version of aws.greengrass.LogManager to deploy to the whole thing group (ships gateway "
        "logs to CloudWatch Logs); empty deploys no log manager.",
    )
    nucleus_version: SemVer | None = Field(
        None,
        description="Version of aws.greengrass.Nucleus on the gateways (2.11.0 or later). With "
        "`disk_spooler_version`, the deployment sets the nucleus's MQTT spooler to disk, so a publish the "
        "nucleus acknowledged survives a power loss (the default spooler is memory, 2.5 MB). It must be the "
        "installed version, or the deployment updates the nucleus to it.",
    )
    disk_spooler_version: SemVer | None = Field(
        None, description="Version of aws.greengrass.DiskSpooler deployed with the gateway component."
    )
    secret_manager_version: SemVer | None = Field(
        None,
        description="Version of aws.greengrass.SecretManager. Set: each store gets its appearance secret in "
        "AWS Secrets Manager (random, 64 characters, its own KMS key), deployed to that store's gateways "
        "by the secret manager component and read over IPC, so every gateway of a store keys appearance "
        "groups alike. Empty: no secret is provisioned; set `gateway.appearance.secret_file` on each "
        "device by hand, or each gateway process keys groups with a random key of its own.",
    )
    spooler_max_bytes: int = Field(
        268_435_456,
        ge=1_048_576,
        le=17_179_869_184,
        description="Largest size of the nucleus's disk spool (must fit the device's free space).",
    )
    configuration: dict[str, Any] = Field(
        default_factory=dict,
        description="Configuration merged into the component on every gateway (keys of the recipe's "
        "DefaultConfiguration); each gateway's store id, thing name and cameras are added, under "
        "`gateways.<thing name>` (deployment target `group`) or `gateway` (target `gateway`).",
    )

    @field_validator("configuration")
    @classmethod
    def _gateways_come_from_stores(cls, value: dict[str, Any]) -> dict[str, Any]:
        if "gateways" in value:
            raise ValueError("`gateways` is filled in from `stores`: set each gateway's cameras there")
        return value

    @model_validator(mode="after")
    def _spooler_needs_both_versions(self) -> GreengrassConfig:
        if (self.nucleus_version is None) != (self.disk_spooler_version is None):
            raise ValueError("set both `nucleus_version` and `disk_spooler_version` to spool to disk")
        return self

    @model_validator(mode="after")
    def _lambda_needs_code(self) -> GreengrassConfig:
        if self.packaging == "lambda" and self.lambda_code_path is None:
            raise ValueError("packaging `lambda` needs `lambda_code_path`")
        return self


class FlinkOnEksConfig(StrictModel):
    """The Beam job streaming on Apache Flink in EKS: Flink Kubernetes operator + one FlinkDeployment."""

    kubernetes_version: Literal["1.33"] = Field(
        "1.33", description="EKS Kubernetes version (the kubectl layer the CDK app ships matches it)."
    )
    flink_version: Literal["1.19", "1.20"] = Field(
        "1.20", description="Flink release of the job manager image; Beam's job server is built for it."
    )
    operator_version: SemVer = Field(
        "1.10.0", description="Flink Kubernetes operator Helm chart version (archive.apache.org)."
    )
    node_count: int = Field(2, ge=1, le=100, description="Worker nodes of the EKS managed node group.")
    instance_type: str = Field(
        "m6i.large", pattern=r"^[a-z][a-z0-9]*\.[a-z0-9]+$", description="EC2 type of the worker nodes."
    )
    parallelism: int = Field(1, ge=1, le=256, description="Parallelism of the Flink job.")
    task_slots: int = Field(1, ge=1, le=16, description="Task slots per task manager.")
    checkpoint_interval_s: int = Field(
        60, ge=10, le=3600, description="Seconds between Flink checkpoints (state lives in S3)."
    )
    cloudwatch_agent_version: str = Field(
        "1.300062.0b1304",
        pattern=r"^\d+\.\d+\.\d+(b\d+)?$",
        description="Tag of public.ecr.aws/cloudwatch-agent/cloudwatch-agent, the agent publishing the job's "
        "Flink gauges to CloudWatch (pinned: a new agent is a deliberate change).",
    )


class ScheduledBatchConfig(StrictModel):
    """The Beam job as a scheduled batch over the Firehose archive (ECS Fargate task, DirectRunner)."""

    schedule: str = Field(
        "cron(30 2 * * ? *)",
        pattern=r"^(cron\([^()]{9,80}\)|rate\(\d{1,4} (minute|minutes|hour|hours|day|days)\))$",
        description="EventBridge schedule expression of the run, e.g. `cron(30 2 * * ? *)` (daily 02:30 UTC) "
        "or `rate(1 hour)`.",
    )
    cpu: Literal[1024, 2048, 4096, 8192] = Field(2048, description="Fargate CPU units of the task.")
    memory_mib: int = Field(8192, ge=2048, le=61440, description="Fargate memory of the task (MiB).")


class ProcessingConfig(StrictModel):
    """Where the Beam job runs on AWS; the environment file picks one option."""

    runner: Literal["flink-eks", "scheduled-batch"] = Field(
        "flink-eks",
        description="`flink-eks`: streaming from Kinesis on Flink in EKS (tables within minutes). "
        "`scheduled-batch`: a scheduled ECS task over the raw archive (daily or hourly tables, no cluster).",
    )
    beam_version: SemVer = Field(
        "2.77.0",
        description="Beam release of the images (worker pool, Flink job server); must match the SDK in "
        "pyproject.toml's dataflow extra.",
    )
    flink: FlinkOnEksConfig = FlinkOnEksConfig()
    batch: ScheduledBatchConfig = ScheduledBatchConfig()


class AlarmsConfig(StrictModel):
    """Thresholds of the operational alarms, and who hears about them."""

    dead_letter_percent: float = Field(
        1.0, gt=0.0, le=100.0, description="Dead-letter share of read entries (per 15 min) that alarms."
    )
    iterator_age_minutes: int = Field(
        10, ge=1, le=1440, description="Age of the oldest unread stream record that alarms."
    )
    spool_depth_entries: int = Field(
        50_000, ge=1, le=100_000_000, description="Entries waiting in any gateway's spool that alarm."
    )
    email: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]] = Field(
        default_factory=list, max_length=16, description="Addresses subscribed to the alarm topic."
    )


class EnvironmentConfig(StrictModel):
    """One deployable environment of anonflow."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,15}$", description="Short name; prefixes every resource.")
    account: str | None = Field(
        None, pattern=r"^\d{12}$", description="AWS account id; empty synthesises account-agnostic stacks."
    )
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", description="AWS region, e.g. eu-west-1.")
    stores: list[StoreConfig] = Field(
        min_length=1, max_length=10_000, description="Stores in this environment."
    )
    stream: StreamConfig = StreamConfig()
    archive: ArchiveConfig = ArchiveConfig()
    retention: RetentionConfig = RetentionConfig()
    analytics: AnalyticsConfig = AnalyticsConfig()
    greengrass: GreengrassConfig
    processing: ProcessingConfig = ProcessingConfig()
    alarms: AlarmsConfig = AlarmsConfig()

    @model_validator(mode="after")
    def _unique_ids(self) -> EnvironmentConfig:
        stores = [s.store_id for s in self.stores]
        if len(set(stores)) != len(stores):
            raise ValueError(f"store ids must be unique, got {stores}")
        gateways = [g.thing_name for s in self.stores for g in s.gateways]
        if len(set(gateways)) != len(gateways):
            raise ValueError(f"a gateway belongs to one store only, got {gateways}")
        return self

    @property
    def prefix(self) -> str:
        """Resource name prefix, e.g. `anonflow-dev`."""
        return f"anonflow-{self.name}"

    def resolve(self, path: Path) -> Path:
        """An environment path made absolute against the repository root."""
        return path if path.is_absolute() else REPO_ROOT / path


def load_environment(source: str | Path) -> EnvironmentConfig:
    """Read an environment by name (`dev` -> infra/environments/dev.yaml) or by file path.

    Raises InputError naming the file and the first bad field.
    """
    path = Path(source)
    if path.suffix not in (".yaml", ".yml"):
        path = ENVIRONMENTS_DIR / f"{source}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in ENVIRONMENTS_DIR.glob("*.yaml"))
        raise InputError(f"environment file {path} not found (known environments: {', '.join(known)})")
    raw = read_mapping(path, "environment file", holds="environment settings")
    return validate_config(raw, EnvironmentConfig, str(path))
