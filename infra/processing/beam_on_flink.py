"""The Beam job's runtime on AWS: a Managed Service for Apache Flink application and its role.

The application runs the Flink job jar that the Beam Python SDK writes with
`--runner=FlinkRunner --output_executable_path=...` (see infra/jobs/flink.yaml and infra/README.md):
Beam's Flink runner and job server classes plus the pipeline, with the Python SDK harness packaged as
described there. The role reads the stream, the raw archive and the jar, writes the tables, and may
publish metrics only into the environment's namespace.
"""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisanalyticsv2 as flink
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from anonflow.infra.config import FlinkConfig
from anonflow.infra.data import layout
from anonflow.infra.suppressions import accept_finding


class BeamOnFlink(Construct):
    """Flink application (checkpoints, snapshots, autoscaling, logging) running the Beam job jar."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        application_name: str,
        settings: FlinkConfig,
        code_bucket: s3.IBucket,
        stream: kinesis.IStream,
        raw_bucket: s3.IBucket,
        tables_bucket: s3.IBucket,
        operators_bucket: s3.IBucket,
        metrics_namespace: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        accept_finding(
            self.log_group,
            "CKV_AWS_158",
            "Job logs hold counts and errors, not entries; CloudWatch Logs encrypts them at rest by default.",
        )
        log_stream = logs.LogStream(
            self, "LogStream", log_group=self.log_group, removal_policy=RemovalPolicy.DESTROY
        )

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "kinesisanalytics.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
            description="Runs the anonflow Beam job on Managed Service for Apache Flink.",
        )
        code_bucket.grant_read(self.role, settings.code_key)
        stream.grant_read(self.role)
        raw_bucket.grant_read(self.role, f"{layout.RAW_ENTRIES_PREFIX}*")
        tables_bucket.grant_read_write(self.role, f"{layout.TABLES_PREFIX}*")
        operators_bucket.grant_read_write(self.role, f"{layout.DEAD_LETTERS_PREFIX}*")
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[self.log_group.log_group_arn, f"{self.log_group.log_group_arn}:log-stream:*"],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=[
                    "*"
                ],  # PutMetricData has no resource-level scoping; the namespace is pinned below.
                conditions={"StringEquals": {"cloudwatch:namespace": metrics_namespace}},
            )
        )

        self.application = flink.CfnApplication(
            self,
            "Application",
            application_name=application_name,
            application_description="anonflow Beam job: entries -> windowed, anonymous tables.",
            runtime_environment=settings.runtime,
            service_execution_role=self.role.role_arn,
            application_configuration=flink.CfnApplication.ApplicationConfigurationProperty(
                application_code_configuration=flink.CfnApplication.ApplicationCodeConfigurationProperty(
                    code_content_type="ZIPFILE",
                    code_content=flink.CfnApplication.CodeContentProperty(
                        s3_content_location=flink.CfnApplication.S3ContentLocationProperty(
                            bucket_arn=code_bucket.bucket_arn, file_key=settings.code_key
                        )
                    ),
                ),
                application_snapshot_configuration=flink.CfnApplication.ApplicationSnapshotConfigurationProperty(
                    snapshots_enabled=True
                ),
                flink_application_configuration=flink.CfnApplication.FlinkApplicationConfigurationProperty(
                    checkpoint_configuration=flink.CfnApplication.CheckpointConfigurationProperty(
                        configuration_type="DEFAULT"
                    ),
                    monitoring_configuration=flink.CfnApplication.MonitoringConfigurationProperty(
                        configuration_type="CUSTOM", log_level="INFO", metrics_level="APPLICATION"
                    ),
                    parallelism_configuration=flink.CfnApplication.ParallelismConfigurationProperty(
                        configuration_type="CUSTOM",
                        parallelism=settings.parallelism,
                        parallelism_per_kpu=settings.parallelism_per_kpu,
                        auto_scaling_enabled=settings.autoscaling,
                    ),
                ),
            ),
        )
        # The role itself is referenced; its policy is a separate resource the service needs at start.
        policy = self.role.node.find_child("DefaultPolicy")
        self.application.node.add_dependency(policy)
        logging_option = flink.CfnApplicationCloudWatchLoggingOption(
            self,
            "Logging",
            application_name=application_name,
            cloud_watch_logging_option=flink.CfnApplicationCloudWatchLoggingOption.CloudWatchLoggingOptionProperty(
                log_stream_arn=(
                    f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:"
                    f"{self.log_group.log_group_name}:log-stream:{log_stream.log_stream_name}"
                )
            ),
        )
        logging_option.node.add_dependency(self.application)
        self.application_name = application_name
