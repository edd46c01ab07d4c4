"""The Beam job as a scheduled batch: an ECS Fargate task over the Firehose archive, run by EventBridge.

For stores that need daily or hourly tables only: no cluster to keep alive, the same worker image as the
Flink option (anonflow installed), the DirectRunner over `raw/entries/`. Each run recomputes the tables
from the archive (raw entries are kept `retention.raw_entries_days`), so a failed run is repaired by the
next one.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from anonflow.infra.config import ScheduledBatchConfig
from anonflow.infra.data import layout
from anonflow.infra.processing import images
from anonflow.infra.processing.cell_key_secret import JOB_ENV, CellKeySecret
from anonflow.infra.processing.flink_on_eks import grant_job_access
from anonflow.infra.suppressions import accept_finding

ENTRY_POINT: Final = ("python", "-m", "anonflow.dataflow.pipeline")


def batch_command(
    *, raw_bucket: str, tables_bucket: str, operators_bucket: str, region: str, metrics_namespace: str
) -> list[str]:
    """The task's arguments to `python -m anonflow.dataflow.pipeline`: a batch over the whole archive."""
    return [
        "--runner=DirectRunner",
        f"--input=s3://{raw_bucket}/{layout.RAW_ENTRIES_PREFIX}",
        f"--output=s3://{tables_bucket}/{layout.TABLES_PREFIX}",
        f"--dead_letter_output=s3://{operators_bucket}/{layout.DEAD_LETTERS_PREFIX}",
        f"--s3_region_name={region}",
        f"--metrics_namespace={metrics_namespace}",
        "--k_anonymity=3",
        "--require_cell_key_secret",
        "--require_topic_record",
    ]


class ScheduledBatch(Construct):
    """ECS cluster, Fargate task definition (worker image), and the EventBridge schedule running it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: ScheduledBatchConfig,
        beam_version: str,
        vpc: ec2.IVpc,
        stream: kinesis.IStream,
        raw_bucket: s3.IBucket,
        tables_bucket: s3.IBucket,
        operators_bucket: s3.IBucket,
        metrics_namespace: str,
        cell_key_secret: CellKeySecret,
    ) -> None:
        super().__init__(scope, construct_id)
        self.cluster = ecs.Cluster(
            self, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
        )
        self.log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        accept_finding(
            self.log_group,
            "CKV_AWS_158",
            "Job logs hold counts and errors, not entries; CloudWatch Logs encrypts them at rest by default.",
        )
        self.task = ecs.FargateTaskDefinition(
            self, "Task", cpu=settings.cpu, memory_limit_mib=settings.memory_mib
        )
        self.role = self.task.task_role
        grant_job_access(
            self.task.task_role,
            stream=stream,
            raw_bucket=raw_bucket,
            tables_bucket=tables_bucket,
            operators_bucket=operators_bucket,
            metrics_namespace=metrics_namespace,
        )
        self.image = images.worker_image(self, beam_version)
        self.task.add_container(
            "Job",
            image=ecs.ContainerImage.from_docker_image_asset(self.image),
            entry_point=list(ENTRY_POINT),
            command=batch_command(
                raw_bucket=raw_bucket.bucket_name,
                tables_bucket=tables_bucket.bucket_name,
                operators_bucket=operators_bucket.bucket_name,
                region=Aws.REGION,
                metrics_namespace=metrics_namespace,
            ),
            logging=ecs.LogDriver.aws_logs(stream_prefix="batch", log_group=self.log_group),
            # ECS reads the secret with the task's execution role and sets it before the job starts.
            secrets={JOB_ENV: ecs.Secret.from_secrets_manager(cell_key_secret.reference)},
            readonly_root_filesystem=False,  # Beam's DirectRunner stages temporary files locally
        )
        # The secret's read actions are granted to the execution role by the container's `secrets`.
        cell_key_secret.grant_decrypt(self.task.obtain_execution_role())
        self.schedule = events.Rule(
            self,
            "Schedule",
            schedule=events.Schedule.expression(settings.schedule),
            description="Runs the anonflow batch job over the raw archive.",
        )
        self.schedule.add_target(
            targets.EcsTask(
                cluster=self.cluster,
                task_definition=self.task,
                subnet_selection=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
                launch_type=ecs.LaunchType.FARGATE,
                platform_version=ecs.FargatePlatformVersion.LATEST,
            )
        )
