"""An S3 bucket with anonflow's baseline: KMS-encrypted, private, TLS-only, logged, with lifecycle rules."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from anonflow.infra.suppressions import accept_finding


class AccessLogBucket(Construct):
    """Target of S3 server access logs (S3 delivers these with SSE-S3 only, so no KMS key here)."""

    def __init__(self, scope: Construct, construct_id: str, *, retention_days: int = 365) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(retention_days),
                    noncurrent_version_expiration=Duration.days(1),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
        )
        accept_finding(
            self.bucket, "CKV_AWS_18", "This is the access-log bucket; logging it to itself loops."
        )


class SecureBucket(Construct):
    """A data bucket: SSE-KMS with the environment key, public access blocked, TLS 1.2+ only, logged.

    `versioned=False` is for data that must really be gone when it expires (audit crops); every other
    bucket keeps overwritten versions for `noncurrent_days`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        access_logs: s3.IBucket,
        lifecycle_rules: Sequence[s3.LifecycleRule] = (),
        versioned: bool = True,
        noncurrent_days: int = 30,
        unversioned_reason: str = "",
    ) -> None:
        super().__init__(scope, construct_id)
        if not versioned and not unversioned_reason:
            raise ValueError(f"{construct_id}: an unversioned bucket needs `unversioned_reason`")
        housekeeping = s3.LifecycleRule(
            id="housekeeping",
            abort_incomplete_multipart_upload_after=Duration.days(1),
            noncurrent_version_expiration=Duration.days(noncurrent_days) if versioned else None,
            expired_object_delete_marker=True if versioned else None,
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=encryption_key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=versioned,
            removal_policy=RemovalPolicy.RETAIN,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix=f"{construct_id.lower()}/",
            lifecycle_rules=[housekeeping, *lifecycle_rules],
        )
        if not versioned:
            accept_finding(self.bucket, "CKV_AWS_21", unversioned_reason)
