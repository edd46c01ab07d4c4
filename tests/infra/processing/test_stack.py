"""ProcessingStack: the Flink application running the Beam jar, and a role scoped to its data."""

from __future__ import annotations

from tests.kit.cdk import Assembly, arn_of, grants, logical_id, render, resources, statements_of


def test_flink_application_runs_the_jar_from_the_artifacts_bucket(assembly: Assembly) -> None:
    template = assembly.template_json("Processing")
    (application,) = resources(template, "AWS::KinesisAnalyticsV2::Application")
    props = render(application["Properties"])
    flink = assembly.config.flink
    assert props["RuntimeEnvironment"] == flink.runtime == "FLINK-1_20"
    assert props["ApplicationName"] == "anonflow-test-beam"
    assert props["ServiceExecutionRole"] == arn_of(assembly.stacks.processing.job.role)
    configuration = props["ApplicationConfiguration"]
    location = configuration["ApplicationCodeConfiguration"]["CodeContent"]["S3ContentLocation"]
    assert location["FileKey"] == flink.code_key == "flink/anonflow-flink.jar"
    assert logical_id(assembly.stacks.data.artifacts_bucket) in location["BucketARN"]
    assert configuration["ApplicationSnapshotConfiguration"] == {"SnapshotsEnabled": True}
    flink_configuration = configuration["FlinkApplicationConfiguration"]
    assert flink_configuration["CheckpointConfiguration"] == {"ConfigurationType": "DEFAULT"}
    assert flink_configuration["ParallelismConfiguration"] == {
        "ConfigurationType": "CUSTOM",
        "Parallelism": flink.parallelism,
        "ParallelismPerKPU": flink.parallelism_per_kpu,
        "AutoScalingEnabled": flink.autoscaling,
    }
    (logging,) = resources(template, "AWS::KinesisAnalyticsV2::ApplicationCloudWatchLoggingOption")
    assert ":log-stream:" in render(logging["Properties"]["CloudWatchLoggingOption"]["LogStreamARN"])


def test_flink_role_reads_stream_and_raw_writes_tables_only(assembly: Assembly) -> None:
    data, job = assembly.stacks.data, assembly.stacks.processing.job
    template = assembly.template_json("Processing")
    role = template["Resources"][logical_id(job.role)]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "kinesisanalytics.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    names = {
        "stream": data.entry_stream,
        "raw": data.raw_bucket,
        "tables": data.tables_bucket,
        "operators": data.operators_bucket,
        "artifacts": data.artifacts_bucket,
        "key": data.key,
        "logs": job.log_group,
    }
    pairs = grants(statements_of(template, job.role), names)
    writes = {r for a, r in pairs if a.startswith(("s3:Put", "s3:Delete"))}
    assert writes == {"{tables}", "{tables}/tables/*", "{operators}", "{operators}/dead_letters/*"}
    assert {r for a, r in pairs if a == "s3:GetObject*"} == {
        "{artifacts}",
        "{artifacts}/flink/anonflow-flink.jar",
        "{raw}",
        "{raw}/entries/*",
        "{tables}",
        "{tables}/tables/*",
        "{operators}",
        "{operators}/dead_letters/*",
    }
    assert {("kinesis:GetRecords", "{stream}"), ("kinesis:GetShardIterator", "{stream}")} <= pairs
    assert not any(a.startswith("kinesis:Put") for a, _ in pairs)
    unscoped = {a for a, r in pairs if r == "*"}
    assert unscoped == {"cloudwatch:PutMetricData"}
    (metric_statement,) = [
        s for s in statements_of(template, job.role) if s["Action"] == "cloudwatch:PutMetricData"
    ]
    assert metric_statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Anonflow/test"}}
