"""The topic rule that routes every entry message to the Kinesis stream and to the raw archive."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_iot as iot
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_s3 as s3
from constructs import Construct

from anonflow.contract.routed import ROUTED_SQL
from anonflow.infra.data import layout

# IoT SQL over `anonflow/v1/<store>/<camera>/entries`: one JSON record per message holding the topic's
# store id beside the message (base64), so the job can drop entries naming another store.
ENTRIES_SQL = ROUTED_SQL
# Records of one camera share a shard, so the stream keeps each camera's order.
PARTITION_KEY = "${topic(3)}/${topic(4)}"


def rule_error_key(rule: str) -> str:
    """S3 key template of a rule's error records (payload base64-encoded inside, with the failure)."""
    return (
        layout.RULE_ERRORS_PREFIX
        + rule
        + '/date=${parse_time("yyyy-MM-dd", timestamp(), "UTC")}/${newuuid()}.json'
    )


def rule_error_action(*, rule: str, bucket: s3.IBucket, role: iam.IRole) -> iot.CfnTopicRule.ActionProperty:
    """Error action shared by the rules: failed messages are kept in the raw bucket, never dropped."""
    return iot.CfnTopicRule.ActionProperty(
        s3=iot.CfnTopicRule.S3ActionProperty(
            bucket_name=bucket.bucket_name, key=rule_error_key(rule), role_arn=role.role_arn
        )
    )


class EntriesRule(Construct):
    """`anonflow/v1/+/+/entries` -> Kinesis (partition store/camera) and Firehose (newline-delimited)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rule_name: str,
        stream: kinesis.IStream,
        delivery_stream: firehose.IDeliveryStream,
        error_bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("iot.amazonaws.com"),
            description="Lets the entries topic rule write to the stream, the archive and its error prefix.",
        )
        stream.grant_write(self.role)
        delivery_stream.grant_put_records(self.role)
        error_bucket.grant_put(self.role, f"{layout.RULE_ERRORS_PREFIX}{rule_name}/*")
        self.rule = iot.CfnTopicRule(
            self,
            "Rule",
            rule_name=rule_name,
            topic_rule_payload=iot.CfnTopicRule.TopicRulePayloadProperty(
                sql=ENTRIES_SQL,
                aws_iot_sql_version="2016-03-23",
                rule_disabled=False,
                description="Entry messages to the Kinesis stream (Beam job) and Firehose (raw archive).",
                actions=[
                    iot.CfnTopicRule.ActionProperty(
                        kinesis=iot.CfnTopicRule.KinesisActionProperty(
                            stream_name=stream.stream_name,
                            partition_key=PARTITION_KEY,
                            role_arn=self.role.role_arn,
                        )
                    ),
                    iot.CfnTopicRule.ActionProperty(
                        firehose=iot.CfnTopicRule.FirehoseActionProperty(
                            delivery_stream_name=delivery_stream.delivery_stream_name,
                            separator="\n",
                            batch_mode=False,
                            role_arn=self.role.role_arn,
                        )
                    ),
                ],
                error_action=rule_error_action(rule=rule_name, bucket=error_bucket, role=self.role),
            ),
        )
