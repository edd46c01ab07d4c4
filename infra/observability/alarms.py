"""The operational alarms: each one is a way entries can be lost or fall behind."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from anonflow.contract import metrics
from anonflow.infra.config import AlarmsConfig

_FIVE_MINUTES = Duration.minutes(5)
# Where the cluster's CloudWatch agent publishes Flink's Prometheus gauges, and their names there.
FLINK_METRICS_NAMESPACE: Final = "Anonflow/Flink"
FLINK_RESTARTS: Final = "flink_jobmanager_job_numRestarts"
FLINK_FAILED_CHECKPOINTS: Final = "flink_jobmanager_job_numberOfFailedCheckpoints"
FLINK_JOB_GAUGES: Final = (FLINK_RESTARTS, FLINK_FAILED_CHECKPOINTS)
# The one dimension of those gauges: the FlinkDeployment's name (infra/processing/metrics_agent.py sets it).
FLINK_DIMENSION: Final = "Deployment"


@dataclass(frozen=True, slots=True)
class JobSignals:
    """What the processing option offers to watch: a FlinkDeployment's name, or the batch schedule's
    rule name and ECS cluster ARN (CDK tokens are fine)."""

    flink_deployment: str | None = None
    batch_rule_name: str | None = None
    batch_cluster_arn: str | None = None


class PipelineAlarms(Construct):
    """Alarms to an encrypted SNS topic: dead-letter rate, stream iterator age, gateway spools, rule and
    the job's failures. Missing data is not breaching (no traffic at night is not an incident), except
    for the Flink job's gauges, which a running job always reports."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: str,
        settings: AlarmsConfig,
        stream: kinesis.IStream,
        rule_names: Sequence[str],
        job: JobSignals,
    ) -> None:
        super().__init__(scope, construct_id)
        key = kms.Key(
            self, "TopicKey", enable_key_rotation=True, description="Encrypts anonflow alarm messages."
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                # CloudWatch alarms and the batch job's EventBridge failure rule publish here.
                principals=[
                    iam.ServicePrincipal("cloudwatch.amazonaws.com"),
                    iam.ServicePrincipal("events.amazonaws.com"),
                ],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
        self.topic = sns.Topic(
            self, "Topic", master_key=key, enforce_ssl=True, display_name="anonflow alarms"
        )
        for address in settings.email:
            self.topic.add_subscription(subscriptions.EmailSubscription(address))
        namespace = metrics.namespace(environment)
        self.alarms: dict[str, cloudwatch.Alarm] = {}

        def custom(spec: metrics.MetricSpec, statistic: str, period: Duration) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=namespace, metric_name=spec.name, statistic=statistic, period=period
            )

        dead_letter_rate = cloudwatch.MathExpression(
            expression="IF(read > 0, 100 * dead / read, 0)",
            using_metrics={
                "dead": custom(metrics.DEAD_LETTERS, "Sum", Duration.minutes(15)),
                "read": custom(metrics.ENTRIES_READ, "Sum", Duration.minutes(15)),
            },
            label="Dead-letter share of read entries (%)",
            period=Duration.minutes(15),
        )
        self._alarm(
            "DeadLetterRate",
            dead_letter_rate,
            settings.dead_letter_percent,
            "Invalid entries above the accepted share.",
        )
        self._alarm(
            "IteratorAge",
            stream.metric_get_records_iterator_age_milliseconds(statistic="Maximum", period=_FIVE_MINUTES),
            settings.iterator_age_minutes * 60_000,
            "The Beam job is falling behind the entry stream (records may expire unread).",
            periods=3,
        )
        self._alarm(
            "GatewaySpoolDepth",
            custom(metrics.SPOOL_DEPTH, "Maximum", _FIVE_MINUTES),
            settings.spool_depth_entries,
            "A gateway cannot deliver: its spool is filling (network or IoT Core problem).",
            periods=3,
        )
        self._alarm(
            "GatewaySpoolEvicted",
            custom(metrics.SPOOL_EVICTED, "Sum", _FIVE_MINUTES),
            0,
            "A gateway's spool was full and dropped its oldest entries.",
        )
        self._alarm(
            "GatewayCamerasDown",
            custom(metrics.CAMERAS_DOWN, "Maximum", _FIVE_MINUTES),
            0,
            "A gateway has a camera down for 15 minutes: visitors there are not being counted.",
            periods=3,
        )
        for rule_name in rule_names:
            for metric_name, meaning in (
                ("Failure", "failed"),
                ("ErrorActionFailure", "could not even record failed"),
            ):
                self._alarm(
                    f"Rule-{rule_name}-{metric_name}",
                    cloudwatch.Metric(
                        namespace="AWS/IoT",
                        metric_name=metric_name,
                        dimensions_map={"RuleName": rule_name},
                        statistic="Sum",
                        period=_FIVE_MINUTES,
                    ),
                    0,
                    f"Topic rule {rule_name} {meaning} messages.",
                )
        if job.flink_deployment is not None:
            self._flink_alarms(job.flink_deployment)
        if job.batch_rule_name is not None and job.batch_cluster_arn is not None:
            self._batch_alarms(job.batch_rule_name, job.batch_cluster_arn)

    def _flink_alarms(self, deployment: str) -> None:
        """Flink's own job gauges (Prometheus reporter, published by the cluster's CloudWatch agent; see
        infra/README.md). A running job reports them every period, so missing data is an incident too:
        these two alarms replace the managed service's `downtime`."""
        for alarm_id, metric_name, description in (
            ("FlinkJobRestarts", FLINK_RESTARTS, "The Beam job on Flink restarted (or stopped reporting)."),
            (
                "FlinkCheckpointFailures",
                FLINK_FAILED_CHECKPOINTS,
                "The Beam job on Flink failed checkpoints (or stopped reporting): a restart would replay.",
            ),
        ):
            metric = cloudwatch.Metric(
                namespace=FLINK_METRICS_NAMESPACE,
                metric_name=metric_name,
                dimensions_map={FLINK_DIMENSION: deployment},
                statistic="Maximum",
                period=_FIVE_MINUTES,
            )
            # The gauges count since the job started: a rise within 15 minutes is a new failure.
            rise = cloudwatch.MathExpression(
                expression="RATE(total) * PERIOD(total)",
                using_metrics={"total": metric},
                label=f"{metric_name} per 5 minutes",
                period=_FIVE_MINUTES,
            )
            self._alarm(
                alarm_id, rise, 0, description, periods=3, missing=cloudwatch.TreatMissingData.BREACHING
            )

    def _batch_alarms(self, rule_name: str, cluster_arn: str) -> None:
        """The schedule could not start the task, or the task ended with an error."""
        self._alarm(
            "BatchScheduleFailures",
            cloudwatch.Metric(
                namespace="AWS/Events",
                metric_name="FailedInvocations",
                dimensions_map={"RuleName": rule_name},
                statistic="Sum",
                period=_FIVE_MINUTES,
            ),
            0,
            "The batch job's schedule could not start the ECS task.",
        )
        # A task stopping with a non-zero exit is an event, not a metric: it goes to the topic directly.
        failed = events.Rule(
            self,
            "BatchTaskFailed",
            description="The anonflow batch job ended with an error.",
            event_pattern=events.EventPattern(
                source=["aws.ecs"],
                detail_type=["ECS Task State Change"],
                detail={
                    "clusterArn": [cluster_arn],
                    "lastStatus": ["STOPPED"],
                    "containers": {"exitCode": [{"anything-but": 0}]},
                },
            ),
        )
        failed.add_target(targets.SnsTopic(self.topic))
        self.batch_failure_rule = failed

    def _alarm(
        self,
        alarm_id: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        description: str,
        *,
        periods: int = 1,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            alarm_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=missing,
            alarm_description=description,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms[alarm_id] = alarm
