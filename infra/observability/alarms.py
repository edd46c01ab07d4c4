"""The operational alarms: each one is a way entries can be lost or fall behind."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from anonflow.contract import metrics
from anonflow.infra.config import AlarmsConfig

_FIVE_MINUTES = Duration.minutes(5)


class PipelineAlarms(Construct):
    """Alarms to an encrypted SNS topic: dead-letter rate, stream iterator age, gateway spools, rule and
    job failures. Missing data is not breaching: no traffic at night is not an incident."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: str,
        settings: AlarmsConfig,
        stream: kinesis.IStream,
        rule_names: Sequence[str],
        flink_application_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        key = kms.Key(
            self, "TopicKey", enable_key_rotation=True, description="Encrypts anonflow alarm messages."
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
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
        self._alarm(
            "FlinkDowntime",
            cloudwatch.Metric(
                namespace="AWS/KinesisAnalytics",
                metric_name="downtime",
                dimensions_map={"Application": flink_application_name},
                statistic="Maximum",
                period=_FIVE_MINUTES,
            ),
            0,
            "The Beam job on Flink is not running.",
            periods=3,
        )

    def _alarm(
        self,
        alarm_id: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        description: str,
        *,
        periods: int = 1,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            alarm_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms[alarm_id] = alarm
