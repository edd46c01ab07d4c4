"""The Kinesis data stream that carries entries from the topic rule to the Beam job."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from constructs import Construct

from anonflow.infra.config import StreamConfig


class EntryStream(Construct):
    """KMS-encrypted stream; on-demand unless a shard count is configured."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        settings: StreamConfig,
        encryption_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        provisioned = settings.shard_count is not None
        self.stream = kinesis.Stream(
            self,
            "Stream",
            stream_name=name,
            encryption=kinesis.StreamEncryption.KMS,
            encryption_key=encryption_key,
            stream_mode=kinesis.StreamMode.PROVISIONED if provisioned else kinesis.StreamMode.ON_DEMAND,
            shard_count=settings.shard_count,
            retention_period=Duration.hours(settings.retention_hours),
            removal_policy=RemovalPolicy.DESTROY,
        )
