"""The job's own options, next to Beam's standard ones (--runner, --streaming, --s3_endpoint_url, ...).

`JobConfig` is the one definition: a pydantic model with every field described and bounded. The Beam
option parser is generated from it, and `JobConfig.from_options` validates what was parsed, so a bad
value is one InputError naming the option.
"""

from __future__ import annotations

import re
from typing import Any, Literal, Self

from apache_beam.options.pipeline_options import PipelineOptions
from pydantic import AwareDatetime, Field, ValidationError, model_validator

from anonflow.contract.errors import InputError
from anonflow.contract.settings import StrictModel, first_problem

# The help groups of `anonflow pipeline --help`, in order; each JobConfig field names its group.
GROUPS = ("input", "output", "stores", "privacy", "streaming")


class JobConfig(StrictModel):
    """What the job reads, how it protects the tables, and where it writes them. Each field names its
    help group (one of GROUPS) in json_schema_extra."""

    input: str = Field(
        max_length=4096,
        description="where entries come from: a file, a glob or a directory/prefix of NDJSON files (local, "
        "s3://, gs://; gzip is detected), kinesis://<stream>, or pubsub://projects/<p>/subscriptions/<s> "
        "(or .../topics/<t>)",
        json_schema_extra={"group": "input"},
    )
    output: str = Field(
        max_length=4096,
        description="where the tables go: a directory (local) or prefix (s3://, gs://)",
        json_schema_extra={"group": "output"},
    )
    dead_letter_output: str | None = Field(
        None,
        max_length=4096,
        description="where rejected input goes, for operators only (local or s3://, gs://); default: "
        "`operators` next to --output (e.g. out/tables -> out/operators). Keep it out of the analysts' reach",
        json_schema_extra={"group": "output"},
    )
    stores: str | None = Field(
        None,
        max_length=4096,
        description="stores YAML (time zones, camera links; local or s3://); without it every store "
        "gets UTC days and no camera links, and with it entries of unlisted stores are dead-lettered",
        json_schema_extra={"group": "stores"},
    )
    k_anonymity: int = Field(
        3,
        ge=2,
        le=1000,
        description="rows backed by fewer people (the fewest that could have made their journeys) are not "
        "published (default 3; at least 2)",
        json_schema_extra={"group": "privacy"},
    )
    dwell_min_support: int = Field(
        10,
        ge=2,
        le=10_000,
        description="dwell percentiles and means only for rows of at least this many people (default 10)",
        json_schema_extra={"group": "privacy"},
    )
    dp_epsilon: float | None = Field(
        None,
        gt=0.0,
        le=10.0,
        description="publish differentially private tables instead of k-anonymous ones, with this privacy "
        "budget per store-day and journey over all tables (0 < epsilon <= 10; needs --stores naming every "
        "store's zones and cameras)",
        json_schema_extra={"group": "privacy"},
    )
    dp_table_split: str | None = Field(
        None,
        max_length=1000,
        description="share of --dp_epsilon per table, summing to 1 (default footfall=0.8,dwell=0.05,"
        "demographics=0.05,flows=0.05,heatmap=0.05)",
        json_schema_extra={"group": "privacy"},
    )
    dp_granularity_split: str | None = Field(
        None,
        max_length=1000,
        description="share of a table's epsilon per window length, summing to 1 "
        "(default 5m=0,1h=0.9,1d=0.1: no five-minute rows)",
        json_schema_extra={"group": "privacy"},
    )
    dp_max_cells: str | None = Field(
        None,
        max_length=1000,
        description="most cells one journey counts in per table and window length (default 5m=12,1h=3,1d=2)",
        json_schema_extra={"group": "privacy"},
    )
    require_cell_key_secret: bool = Field(
        False,
        description="refuse to start without the deployment's cell-key secret in ANONFLOW_CELL_KEY_SECRET "
        "(deployed jobs: without it each run perturbs differently, and runs could be averaged)",
        json_schema_extra={"group": "privacy"},
    )
    ship_cell_key: bool = Field(
        False,
        description="put the deployment's cell-key secret in the submitted pipeline, for workers that "
        "cannot be given ANONFLOW_CELL_KEY_SECRET (Dataflow without a custom container); the runner then "
        "keeps the key with the job graph it stores. Default: workers read it from their own environment",
        json_schema_extra={"group": "privacy"},
    )
    allowed_lateness_s: float = Field(
        3600.0,
        ge=0.0,
        le=7 * 86400.0,
        description="seconds after a store-day closes that its late entries are still taken in (default "
        "3600); later ones are dropped, so cover the gateways' longest spool",
        json_schema_extra={"group": "streaming"},
    )
    early_firing_s: float | None = Field(
        None,
        gt=0.0,
        le=86400.0,
        description="streaming: also write the day so far every this many seconds (processing time)",
        json_schema_extra={"group": "streaming"},
    )
    heatmap_grid: int = Field(
        16,
        ge=2,
        le=256,
        description="heat map cells per image side (default 16)",
        json_schema_extra={"group": "output"},
    )
    processing_time: AwareDatetime | None = Field(
        None,
        description="the processing time event times are checked against (ISO 8601 with zone, e.g. "
        "2024-05-15T00:30:00Z): pass the day an archive stands for when re-processing it; default: the "
        "clock (batch: when the job starts; streaming: when each entry arrives)",
        json_schema_extra={"group": "input"},
    )
    max_event_age_s: float = Field(
        8 * 86400.0,
        ge=60.0,
        le=3650 * 86400.0,
        description="entries whose event time lies further before the processing time are dead-lettered "
        "(default 8 days: a week of gateway spool and a day of lateness)",
        json_schema_extra={"group": "input"},
    )
    max_event_ahead_s: float = Field(
        900.0,
        ge=0.0,
        le=86400.0,
        description="entries whose event time lies further after the processing time are dead-lettered "
        "(default 900: gateway clock skew)",
        json_schema_extra={"group": "input"},
    )
    max_line_bytes: int = Field(
        1 << 20,
        ge=1024,
        le=64 << 20,
        description="input files: longer lines are dead-lettered (default 1 MiB, a Kinesis record)",
        json_schema_extra={"group": "input"},
    )
    max_file_bytes: int = Field(
        512 << 20,
        ge=1 << 20,
        le=64 << 30,
        description="input files: read at most this many bytes of one file after decompression and "
        "dead-letter the rest (default 512 MiB; gzip bombs)",
        json_schema_extra={"group": "input"},
    )
    require_topic_record: bool = Field(
        False,
        description="accept only the IoT topic rule's records (topic store id + message) and dead-letter "
        "plain entry lines, so every entry is checked against its topic's store (cloud deployments)",
        json_schema_extra={"group": "input"},
    )
    kinesis_region: str | None = Field(
        None,
        max_length=64,
        description="AWS region of the Kinesis stream (default: --s3_region_name, else boto3's)",
        json_schema_extra={"group": "input"},
    )
    kinesis_endpoint_url: str | None = Field(
        None,
        max_length=1024,
        description="Kinesis endpoint (a local test server); default: AWS",
        json_schema_extra={"group": "input"},
    )
    kinesis_start: Literal["TRIM_HORIZON", "LATEST"] = Field(
        "TRIM_HORIZON",
        description="where a new Kinesis read starts",
        json_schema_extra={"group": "input"},
    )
    kinesis_stop_at_latest: bool = Field(
        False,
        description="stop once every Kinesis shard is caught up (backfills, tests)",
        json_schema_extra={"group": "input"},
    )
    kinesis_discovery_interval_s: float = Field(
        10.0,
        gt=0.0,
        le=3600.0,
        description="seconds between listings of the Kinesis stream's shards: how soon the children of a "
        "reshard get readers of their own",
        json_schema_extra={"group": "input"},
    )
    metrics_namespace: str | None = Field(
        None,
        max_length=255,
        pattern=r"^[A-Za-z0-9_./#:-]+$",
        description="publish EntriesRead and DeadLetterEntries to this CloudWatch namespace (e.g. "
        "Anonflow/prod, as the alarms expect); off when not given",
        json_schema_extra={"group": "output"},
    )
    cloudwatch_endpoint_url: str | None = Field(
        None,
        max_length=1024,
        description="CloudWatch endpoint (a local test server); default: AWS",
        json_schema_extra={"group": "output"},
    )
    pubsub_id_label: str | None = Field(
        None,
        max_length=256,
        description="message attribute with a unique id, for exactly-once delivery",
        json_schema_extra={"group": "input"},
    )

    @model_validator(mode="after")
    def _known_source(self) -> Self:
        if self.source == "pubsub" and not re.fullmatch(
            r"projects/[^/]+/(subscriptions|topics)/[^/]+", self.stream
        ):
            raise ValueError(
                "--input=pubsub://... needs projects/<p>/subscriptions/<s> or projects/<p>/topics/<t>"
            )
        if self.source == "kinesis" and not re.fullmatch(r"[A-Za-z0-9_.-]{1,128}", self.stream):
            raise ValueError("--input=kinesis://... needs a stream name")
        return self

    @model_validator(mode="after")
    def _caps_ordered(self) -> Self:
        if self.max_line_bytes > self.max_file_bytes:
            raise ValueError("--max_line_bytes must not exceed --max_file_bytes")
        return self

    @property
    def operators_output(self) -> str:
        """Where dead letters go: --dead_letter_output, else `operators` beside --output."""
        if self.dead_letter_output:
            return self.dead_letter_output
        trimmed = self.output.rstrip("/")
        parent = trimmed.rsplit("/", 1)[0] if "/" in trimmed else "."
        if parent.endswith(":/") or parent.endswith(":"):
            raise InputError(f"--output {self.output} is a bucket root: give --dead_letter_output as well")
        return f"{parent}/operators"

    @property
    def source(self) -> Literal["files", "kinesis", "pubsub"]:
        """Where entries come from, by the scheme of --input."""
        if self.input.startswith("kinesis://"):
            return "kinesis"
        if self.input.startswith("pubsub://"):
            return "pubsub"
        return "files"

    @property
    def stream(self) -> str:
        """The stream or Pub/Sub path of a kinesis:// or pubsub:// input."""
        return self.input.split("://", 1)[1]

    @classmethod
    def from_options(cls, options: PipelineOptions) -> JobConfig:
        view = options.view_as(AnonflowOptions)
        given = {name: getattr(view, name, None) for name in cls.model_fields}
        try:
            return cls.model_validate({k: v for k, v in given.items() if v is not None})
        except ValidationError as error:
            # Options are named as typed on the command line; a rule across options names its own.
            problem = first_problem(error)
            where = f"--{problem.path}: " if problem.path else ""
            raise InputError(f"{where}{problem.message}{problem.more}") from None


class AnonflowOptions(PipelineOptions):
    """The `JobConfig` fields as Beam options (parsed loosely here, validated by `JobConfig`)."""

    @classmethod
    def _add_argparse_args(cls, parser: Any) -> None:
        for name, field in JobConfig.model_fields.items():
            if field.annotation is bool:
                parser.add_argument(f"--{name}", action="store_true", default=None, help=field.description)
            else:
                parser.add_argument(f"--{name}", default=None, help=field.description)
