"""The topic rule that turns gateway health messages into CloudWatch metrics the alarms watch."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_iot as iot
from aws_cdk import aws_s3 as s3
from constructs import Construct

from anonflow.contract import metrics
from anonflow.contract.topics import TOPIC_PREFIX
from anonflow.infra.data import layout
from anonflow.infra.iot.entries_rule import rule_error_action


def health_sql() -> str:
    fields = ", ".join(m.health_field for m in metrics.GATEWAY_METRICS if m.health_field)
    return f"SELECT {fields} FROM '{TOPIC_PREFIX}/+/+/health'"


class HealthRule(Construct):
    """`anonflow/v1/+/+/health` -> one CloudWatch metric per `metrics.GATEWAY_METRICS` entry.

    A health message missing a field fails that action, and the error action keeps the message, so a
    contract drift between gateway and alarms shows up in the raw bucket instead of as silence.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rule_name: str,
        environment: str,
        error_bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        metric_namespace = metrics.namespace(environment)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("iot.amazonaws.com"),
            description="Lets the health topic rule put gateway metrics and write its error prefix.",
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=[
                    "*"
                ],  # PutMetricData has no resource-level scoping; the namespace is pinned below.
                conditions={"StringEquals": {"cloudwatch:namespace": metric_namespace}},
            )
        )
        error_bucket.grant_put(self.role, f"{layout.RULE_ERRORS_PREFIX}{rule_name}/*")
        actions = [
            iot.CfnTopicRule.ActionProperty(
                cloudwatch_metric=iot.CfnTopicRule.CloudwatchMetricActionProperty(
                    metric_namespace=metric_namespace,
                    metric_name=metric.name,
                    metric_unit=metric.unit,
                    metric_value=f"${{{metric.health_field}}}",
                    role_arn=self.role.role_arn,
                )
            )
            for metric in metrics.GATEWAY_METRICS
            if metric.health_field
        ]
        self.rule = iot.CfnTopicRule(
            self,
            "Rule",
            rule_name=rule_name,
            topic_rule_payload=iot.CfnTopicRule.TopicRulePayloadProperty(
                sql=health_sql(),
                aws_iot_sql_version="2016-03-23",
                rule_disabled=False,
                description="Gateway health fields to CloudWatch metrics for the spool alarms.",
                actions=actions,
                error_action=rule_error_action(rule=rule_name, bucket=error_bucket, role=self.role),
            ),
        )
