"""DataStack: encryption, public access, TLS, lifecycle, stream, archive layout, Glue tables, Athena."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match
from pydantic import ValidationError

from anonflow.contract.tables import ANALYST_TABLES, PARTITION_KEYS, Table
from anonflow.dataflow.options import JobConfig
from anonflow.infra.config import RAW_ENTRIES_DAYS, RetentionConfig
from anonflow.infra.data import layout
from anonflow.infra.data.catalog import GLUE_TYPES
from tests.kit.cdk import Assembly, arn_of, logical_id, ref, render, resources


def test_every_bucket_is_private_and_encrypted(assembly: Assembly) -> None:
    buckets = resources(assembly.template_json("Data"), "AWS::S3::Bucket")
    assert len(buckets) == 7  # raw, tables, operators, audit crops, artifacts, Athena results, access logs
    for bucket in buckets:
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        algorithm = rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
        # S3 delivers server access logs only to SSE-S3 buckets; every data bucket uses the data key.
        is_log_bucket = "LoggingConfiguration" not in props
        assert algorithm == ("AES256" if is_log_bucket else "aws:kms")
        if not is_log_bucket:
            assert render(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]) == arn_of(
                assembly.stacks.data.key
            )
            assert rule["BucketKeyEnabled"] is True
    assert sum("LoggingConfiguration" in b["Properties"] for b in buckets) == 6


def test_every_bucket_denies_plain_http_and_old_tls(assembly: Assembly) -> None:
    policies = resources(assembly.template_json("Data"), "AWS::S3::BucketPolicy")
    assert len(policies) == 7
    for policy in policies:
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        denies = [s for s in statements if s["Effect"] == "Deny"]
        assert {"Bool": {"aws:SecureTransport": "false"}} in [s["Condition"] for s in denies]
        assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in [s["Condition"] for s in denies]


def test_audit_crops_expire_and_are_not_versioned(assembly: Assembly) -> None:
    days = assembly.config.retention.audit_crop_days
    assembly.template("Data").has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [{"Id": "audit-crops-expire", "ExpirationInDays": days, "Status": "Enabled"}]
                )
            },
            "VersioningConfiguration": Match.absent(),
        },
    )


def test_raw_entries_age_out(assembly: Assembly) -> None:
    retention = assembly.config.retention
    transitions = (
        [{"StorageClass": "STANDARD_IA", "TransitionInDays": retention.raw_infrequent_access_days}]
        if retention.raw_infrequent_access_days is not None
        else Match.absent()
    )
    assembly.template("Data").has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Id": "raw-entries-age",
                                "ExpirationInDays": retention.raw_entries_days,
                                "Transitions": transitions,
                            }
                        )
                    ]
                )
            },
            "VersioningConfiguration": {"Status": "Enabled"},
        },
    )


def test_raw_entries_are_kept_only_as_long_as_lateness_and_backfills_need() -> None:
    """Default 35 days: 7 days of the job's longest allowed lateness plus a 28-day backfill window."""
    assert RetentionConfig().raw_entries_days == RAW_ENTRIES_DAYS == 35
    assert JobConfig.model_fields["allowed_lateness_s"].metadata[-1].le / 86400 < RAW_ENTRIES_DAYS
    with pytest.raises(ValidationError, match="must be below raw_entries_days"):
        RetentionConfig(raw_entries_days=35, raw_infrequent_access_days=60)
    with pytest.raises(ValidationError, match="greater than or equal to 8"):
        RetentionConfig(raw_entries_days=3)


def test_data_key_rotates(assembly: Assembly) -> None:
    assembly.template("Data").has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_entry_stream_is_encrypted_and_sized_from_config(assembly: Assembly) -> None:
    (stream,) = resources(assembly.template_json("Data"), "AWS::Kinesis::Stream")
    props = stream["Properties"]
    assert props["StreamEncryption"]["EncryptionType"] == "KMS"
    assert render(props["StreamEncryption"]["KeyId"]) == arn_of(assembly.stacks.data.key)
    assert props["ShardCount"] == assembly.config.stream.shard_count
    assert props["RetentionPeriodHours"] == assembly.config.stream.retention_hours
    assert props["Name"] == "anonflow-test-entries"


def test_firehose_writes_gzip_ndjson_by_date_encrypted(assembly: Assembly) -> None:
    (stream,) = resources(assembly.template_json("Data"), "AWS::KinesisFirehose::DeliveryStream")
    props = stream["Properties"]
    assert props["DeliveryStreamType"] == "DirectPut"
    assert props["DeliveryStreamEncryptionConfigurationInput"]["KeyType"] == "CUSTOMER_MANAGED_CMK"
    s3 = props["ExtendedS3DestinationConfiguration"]
    assert s3["Prefix"] == "entries/date=!{timestamp:yyyy-MM-dd}/"
    assert s3["ErrorOutputPrefix"].startswith(layout.FIREHOSE_ERRORS_PREFIX)
    assert s3["CompressionFormat"] == "GZIP"
    assert s3["FileExtension"] == ".ndjson.gz"
    assert render(s3["BucketARN"]) == arn_of(assembly.stacks.data.raw_bucket)
    assert render(s3["EncryptionConfiguration"]["KMSEncryptionConfig"]["AWSKMSKeyARN"]) == arn_of(
        assembly.stacks.data.key
    )
    assert s3["BufferingHints"] == {
        "IntervalInSeconds": assembly.config.archive.buffering_interval_s,
        "SizeInMBs": assembly.config.archive.buffering_size_mib,
    }
    assert s3["CloudWatchLoggingOptions"]["Enabled"] is True


def _glue_table(assembly: Assembly, name: str) -> dict[str, object]:
    tables = resources(assembly.template_json("Data"), "AWS::Glue::Table")
    (match,) = [t for t in tables if t["Properties"]["TableInput"]["Name"] == name]
    table_input: dict[str, object] = render(match["Properties"]["TableInput"])
    return table_input


def test_one_glue_table_per_analyst_table(assembly: Assembly) -> None:
    tables = resources(assembly.template_json("Data"), "AWS::Glue::Table")
    names = sorted(t["Properties"]["TableInput"]["Name"] for t in tables)
    assert names == sorted(t.name for t in ANALYST_TABLES) and "dead_letter" not in names
    assert {t["Properties"]["DatabaseName"] for t in tables} == {"anonflow_test"}


@pytest.mark.parametrize("table", ANALYST_TABLES, ids=lambda t: t.name)
def test_glue_table_matches_anonflow_tables(assembly: Assembly, table: Table) -> None:
    table_input = _glue_table(assembly, table.name)
    descriptor = table_input["StorageDescriptor"]
    assert isinstance(descriptor, dict)
    assert [(c["Name"], c["Type"]) for c in descriptor["Columns"]] == [
        (c.name, GLUE_TYPES[c.type]) for c in table.columns
    ]
    assert [(c["Name"], c["Type"]) for c in table_input["PartitionKeys"]] == [  # type: ignore[attr-defined]
        (c.name, "string") for c in PARTITION_KEYS
    ]
    assert descriptor["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    assert descriptor["Location"] == f"s3://{ref(assembly.stacks.data.tables_bucket)}/tables/{table.name}/"


@pytest.mark.parametrize("table", ANALYST_TABLES, ids=lambda t: t.name)
def test_glue_partition_projection(assembly: Assembly, table: Table) -> None:
    parameters = _glue_table(assembly, table.name)["Parameters"]
    assert parameters == {
        "classification": "parquet",
        "projection.enabled": "true",
        "projection.store_id.type": "enum",
        "projection.store_id.values": "store-a,store-b",
        "projection.date.type": "date",
        "projection.date.format": "yyyy-MM-dd",
        "projection.date.range": "2025-01-01,NOW",
        "projection.date.interval": "1",
        "projection.date.interval.unit": "DAYS",
        "storage.location.template": f"s3://{ref(assembly.stacks.data.tables_bucket)}/tables/{table.name}/"
        "store_id=${store_id}/date=${date}/",
    }


def test_athena_workgroup_enforces_encrypted_results_and_scan_limit(assembly: Assembly) -> None:
    (workgroup,) = resources(assembly.template_json("Data"), "AWS::Athena::WorkGroup")
    configuration = render(workgroup["Properties"]["WorkGroupConfiguration"])
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert (
        configuration["BytesScannedCutoffPerQuery"]
        == assembly.config.analytics.bytes_scanned_cutoff_gib * 1024**3
    )
    result = configuration["ResultConfiguration"]
    assert result["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"
    assert result["OutputLocation"] == f"s3://{ref(assembly.stacks.data.athena_results_bucket)}/results/"


def test_dead_letters_live_in_their_own_bucket_for_operators(assembly: Assembly) -> None:
    template = assembly.template_json("Data")
    policies = resources(template, "AWS::IAM::ManagedPolicy")
    (operators,) = [p for p in policies if "dead letters" in p["Properties"]["Description"]]
    rendered = json.dumps(render(operators["Properties"]["PolicyDocument"]))
    assert f"{arn_of(assembly.stacks.data.operators_bucket)}/dead_letters/*" in rendered
    assert logical_id(assembly.stacks.data.tables_bucket) not in rendered
