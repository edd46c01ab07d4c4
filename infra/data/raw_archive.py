"""The Firehose delivery stream that archives every entry message as NDJSON in the raw bucket."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Size
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from anonflow.infra.config import ArchiveConfig
from anonflow.infra.data import layout
from anonflow.infra.suppressions import accept_finding


class RawArchive(Construct):
    """Direct-PUT Firehose to `raw/entries/date=YYYY-MM-DD/`, GZIP NDJSON, encrypted with the data key.

    The topic rule's Firehose action appends the newline, so each line is one MQTT payload as published.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        bucket: s3.IBucket,
        settings: ArchiveConfig,
        encryption_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self, "DeliveryLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        accept_finding(
            self.log_group,
            "CKV_AWS_158",
            "Delivery error messages only, no payloads; CloudWatch Logs encrypts them at rest by default.",
        )
        destination = firehose.S3Bucket(
            bucket,
            data_output_prefix=layout.RAW_ENTRIES_PREFIX + layout.RAW_DATE_PARTITION,
            error_output_prefix=layout.FIREHOSE_ERRORS_PREFIX
            + "!{firehose:error-output-type}/"
            + layout.RAW_DATE_PARTITION,
            file_extension=layout.RAW_FILE_EXTENSION,
            compression=firehose.Compression.GZIP,
            buffering_interval=Duration.seconds(settings.buffering_interval_s),
            buffering_size=Size.mebibytes(settings.buffering_size_mib),
            encryption_key=encryption_key,
            logging_config=firehose.EnableLogging(self.log_group),
        )
        self.delivery_stream = firehose.DeliveryStream(
            self,
            "DeliveryStream",
            delivery_stream_name=name,
            destination=destination,
            encryption=firehose.StreamEncryption.customer_managed_key(encryption_key),
        )
