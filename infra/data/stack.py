"""DataStack: everything that stores entries and tables; the other stacks reference its resources."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from anonflow.infra.config import EnvironmentConfig
from anonflow.infra.data import layout
from anonflow.infra.data.catalog import TablesCatalog
from anonflow.infra.data.entry_stream import EntryStream
from anonflow.infra.data.raw_archive import RawArchive
from anonflow.infra.data.secure_bucket import AccessLogBucket, SecureBucket
from anonflow.infra.data.workgroup import AnalystWorkgroup


class DataStack(Stack):
    """Data key, buckets (raw, tables, operators, audit crops, artifacts, Athena results), stream, archive,
    catalog."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        retention = config.retention
        self.key = kms.Key(
            self,
            "DataKey",
            alias=f"alias/{config.prefix}-data",
            description="Encrypts anonflow entries, tables, audit crops and artifacts at rest.",
            enable_key_rotation=True,
        )
        access_logs = AccessLogBucket(self, "AccessLogs").bucket

        def bucket(construct_id: str, **options: Any) -> s3.Bucket:
            return SecureBucket(
                self,
                construct_id,
                encryption_key=self.key,
                access_logs=access_logs,
                noncurrent_days=retention.noncurrent_version_days,
                **options,
            ).bucket

        raw_expiry = Duration.days(retention.raw_entries_days) if retention.raw_entries_days else None
        self.raw_bucket = bucket(
            "Raw",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="raw-entries-age",
                    expiration=raw_expiry,
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(retention.raw_infrequent_access_days),
                        )
                    ]
                    if retention.raw_infrequent_access_days is not None
                    else None,
                )
            ],
        )
        self.tables_bucket = bucket(
            "Tables",
            versioned=False,
            unversioned_reason="A re-run or a late pane re-releases a store-day; an older version kept "
            "readable would let an analyst difference two releases of the same day.",
        )
        self.operators_bucket = bucket(
            "Operators",
            versioned=False,
            unversioned_reason="Dead letters are rejected input for operators; they must be gone when they "
            "expire.",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="dead-letters-expire", expiration=Duration.days(retention.dead_letter_days)
                )
            ],
        )
        # Attach to operator principals only; analysts' roles read the tables bucket and Athena.
        self.operators_read = iam.ManagedPolicy(
            self,
            "OperatorsRead",
            description="Read the anonflow job's dead letters (operators only, never analysts).",
            statements=[
                iam.PolicyStatement(
                    actions=["s3:GetObject"],
                    resources=[self.operators_bucket.arn_for_objects(f"{layout.DEAD_LETTERS_PREFIX}*")],
                ),
                iam.PolicyStatement(
                    actions=["s3:ListBucket"],
                    resources=[self.operators_bucket.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [f"{layout.DEAD_LETTERS_PREFIX}*"]}},
                ),
                iam.PolicyStatement(actions=["kms:Decrypt"], resources=[self.key.key_arn]),
            ],
        )
        self.audit_bucket = bucket(
            "AuditCrops",
            versioned=False,
            unversioned_reason="Audit crops must be gone once expired; versions would keep deleted crops.",
            lifecycle_rules=[
                s3.LifecycleRule(id="audit-crops-expire", expiration=Duration.days(retention.audit_crop_days))
            ],
        )
        self.artifacts_bucket = bucket("Artifacts")
        self.athena_results_bucket = bucket(
            "AthenaResults",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="athena-results-expire", expiration=Duration.days(retention.athena_results_days)
                )
            ],
        )

        self.entry_stream = EntryStream(
            self, "Entries", name=f"{config.prefix}-entries", settings=config.stream, encryption_key=self.key
        ).stream
        self.raw_archive = RawArchive(
            self,
            "RawArchive",
            name=f"{config.prefix}-raw-entries",
            bucket=self.raw_bucket,
            settings=config.archive,
            encryption_key=self.key,
        ).delivery_stream
        self.catalog = TablesCatalog(
            self,
            "Catalog",
            database_name=config.prefix.replace("-", "_"),
            bucket=self.tables_bucket,
            store_ids=[s.store_id for s in config.stores],
            projection_start=config.analytics.projection_start,
        )
        self.workgroup = AnalystWorkgroup(
            self,
            "Analysts",
            name=f"{config.prefix}-analysts",
            results_bucket=self.athena_results_bucket,
            encryption_key=self.key,
            bytes_scanned_cutoff_gib=config.analytics.bytes_scanned_cutoff_gib,
        )

        for output_id, value, description in (
            ("RawBucketName", self.raw_bucket.bucket_name, f"Raw NDJSON under {layout.RAW_ENTRIES_PREFIX}"),
            (
                "TablesBucketName",
                self.tables_bucket.bucket_name,
                f"Parquet tables under {layout.TABLES_PREFIX}",
            ),
            ("AuditBucketName", self.audit_bucket.bucket_name, "Audit crops (expire)"),
            (
                "OperatorsBucketName",
                self.operators_bucket.bucket_name,
                f"Dead letters under {layout.DEAD_LETTERS_PREFIX} (operators only)",
            ),
            (
                "OperatorsReadPolicyArn",
                self.operators_read.managed_policy_arn,
                "Attach to operator principals to read dead letters",
            ),
            (
                "ArtifactsBucketName",
                self.artifacts_bucket.bucket_name,
                "Greengrass artifacts and the job jar",
            ),
            ("EntryStreamName", self.entry_stream.stream_name, "Kinesis stream of entry messages"),
            ("DeliveryStreamName", self.raw_archive.delivery_stream_name, "Firehose to the raw bucket"),
            ("GlueDatabaseName", self.catalog.database_name, "Glue database of the tables"),
            ("AthenaWorkGroupName", self.workgroup.name, "Athena workgroup for analysts"),
        ):
            CfnOutput(self, output_id, value=value, description=description)
