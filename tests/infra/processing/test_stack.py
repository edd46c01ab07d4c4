"""ProcessingStack: Flink on EKS (operator chart, FlinkDeployment with the worker-pool sidecar, the job's
service-account role) or, chosen in the environment file, the scheduled batch over the raw archive."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from anonflow.infra.processing import manifests
from tests.kit.cdk import (
    PARTS,
    Assembly,
    grants,
    kubernetes_objects,
    logical_id,
    render,
    resources,
    statements_of,
)


def _job_grants(template: dict[str, Any], assembly: Assembly, role: Any) -> set[tuple[str, str]]:
    data = assembly.stacks.data
    names = {
        "stream": data.entry_stream,
        "raw": data.raw_bucket,
        "tables": data.tables_bucket,
        "operators": data.operators_bucket,
        "artifacts": data.artifacts_bucket,
        "key": data.key,
    }
    return grants(statements_of(template, role), names)


def _assert_todays_grants(pairs: set[tuple[str, str]], *, state: set[str]) -> None:
    writes = {r for a, r in pairs if a.startswith(("s3:Put", "s3:Delete"))}
    dead_letters = {"{operators}", "{operators}/dead_letters/*"}
    assert writes == {"{tables}", "{tables}/tables/*"} | dead_letters | state
    reads = {r for a, r in pairs if a == "s3:GetObject*"}
    assert reads == {"{raw}", "{raw}/entries/*", "{tables}", "{tables}/tables/*"} | dead_letters | state
    assert {("kinesis:GetRecords", "{stream}"), ("kinesis:GetShardIterator", "{stream}")} <= pairs
    assert not any(a.startswith("kinesis:Put") for a, _ in pairs)
    assert {a for a, r in pairs if r == "*"} == {"cloudwatch:PutMetricData"}


def test_no_managed_flink_application_is_left(assembly: Assembly) -> None:
    for part in PARTS:
        types = {r["Type"] for r in assembly.template_json(part)["Resources"].values()}
        assert not any(t.startswith("AWS::KinesisAnalytics") for t in types), part


def test_operator_chart_from_the_apache_archive(assembly: Assembly) -> None:
    (chart,) = resources(assembly.template_json("Processing"), "Custom::AWSCDK-EKS-HelmChart")
    props = chart["Properties"]
    version = assembly.config.processing.flink.operator_version
    assert props["Chart"] == "flink-kubernetes-operator"
    assert props["Version"] == version
    assert (
        props["Repository"] == f"https://archive.apache.org/dist/flink/flink-kubernetes-operator-{version}/"
    )
    assert json.loads(props["Values"]) == {"webhook": {"create": False}, "watchNamespaces": ["anonflow"]}


def test_flink_deployment_runs_the_job_with_the_worker_pool_sidecar(assembly: Assembly) -> None:
    objects = kubernetes_objects(assembly.template_json("Processing"))
    (deployment,) = [o for o in objects if o["kind"] == "FlinkDeployment"]
    spec = deployment["spec"]
    assert spec["serviceAccount"] == "anonflow-job"
    assert spec["flinkVersion"] == "v1_20"
    assert "<GetAtt" not in spec["image"] and ".dkr.ecr." in spec["image"]  # the job-server image asset
    (sidecar,) = [c for c in spec["taskManager"]["podTemplate"]["spec"]["containers"] if "image" in c]
    assert sidecar["args"] == ["--worker_pool"]
    assert sidecar["ports"][0]["containerPort"] == 50000
    assert sidecar["image"] != spec["image"] and ".dkr.ecr." in sidecar["image"]
    job = spec["job"]
    assert job["entryClass"] == "org.apache.beam.runners.flink.FlinkPortableClientEntryPoint"
    driver = job["args"][1]
    for option in ("--environment_type=EXTERNAL", "--environment_config=localhost:50000", "--streaming"):
        assert option in driver
    assert job["upgradeMode"] == "savepoint"
    configuration = spec["flinkConfiguration"]
    artifacts = logical_id(assembly.stacks.data.artifacts_bucket)
    for key in ("state.checkpoints.dir", "state.savepoints.dir", "high-availability.storageDir"):
        assert configuration[key].startswith("s3://") and artifacts in configuration[key]
    assert [o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"] == [
        "anonflow",
        "anonflow-metrics",
    ]


def test_job_service_account_role_holds_todays_grants(assembly: Assembly) -> None:
    flink = assembly.stacks.processing.flink
    assert flink is not None
    template = assembly.template_json("Processing")
    role = template["Resources"][logical_id(flink.role)]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    # The OIDC condition is computed at deploy time by a custom resource from these properties.
    (condition_id, _) = trust["Condition"]["StringEquals"]["Fn::GetAtt"]
    condition = json.dumps(render(template["Resources"][condition_id]["Properties"]))
    assert f"system:serviceaccount:{manifests.NAMESPACE}:{manifests.SERVICE_ACCOUNT}" in condition
    pairs = _job_grants(template, assembly, flink.role)
    _assert_todays_grants(pairs, state={"{artifacts}", "{artifacts}/flink/*"})
    (metric_statement,) = [
        s for s in statements_of(template, flink.role) if s["Action"] == "cloudwatch:PutMetricData"
    ]
    assert metric_statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Anonflow/test"}}


def _image_assets(directory: Path) -> list[dict[str, Any]]:
    found = []
    for path in directory.glob("*.assets.json"):
        found.extend(json.loads(path.read_text(encoding="utf-8")).get("dockerImages", {}).values())
    return found


def test_images_are_assets_staged_from_the_package_sources_only(assembly: Assembly) -> None:
    """Synth stages each build context and never runs Docker; the context holds the package, no venv."""
    assets = _image_assets(assembly.directory)
    files = sorted(a["source"]["dockerFile"] for a in assets)
    assert files == [
        "infra/processing/images/jobserver/Dockerfile",
        "infra/processing/images/worker/Dockerfile",
    ]
    for asset in assets:
        staged = assembly.directory / asset["source"]["directory"]
        top = {p.name for p in staged.iterdir()}
        assert top == {"pyproject.toml", "README.md", "anonflow", "dataflow", "edge", "models", "infra"}
        assert (staged / "dataflow" / "pipeline.py").is_file()
        assert not (staged / "infra" / "node_modules").exists()
        assert not list(staged.rglob("__pycache__"))


def test_scheduled_batch_runs_the_worker_image_over_the_archive(batch: Assembly) -> None:
    template = batch.template_json("Processing")
    assert not resources(template, "Custom::AWSCDK-EKS-Cluster")
    assert not resources(template, "Custom::AWSCDK-EKS-KubernetesResource")
    (rule,) = resources(template, "AWS::Events::Rule")
    assert rule["Properties"]["ScheduleExpression"] == batch.config.processing.batch.schedule
    (target,) = rule["Properties"]["Targets"]
    assert target["EcsParameters"]["LaunchType"] == "FARGATE"
    (task,) = resources(template, "AWS::ECS::TaskDefinition")
    assert task["Properties"]["Cpu"] == str(batch.config.processing.batch.cpu)
    (container,) = task["Properties"]["ContainerDefinitions"]
    assert container["EntryPoint"] == ["python", "-m", "anonflow.dataflow.pipeline"]
    command = [render(part) for part in container["Command"]]
    raw = logical_id(batch.stacks.data.raw_bucket)
    assert any(c.startswith("--input=s3://") and raw in c and c.endswith("/entries/") for c in command)
    assert "--runner=DirectRunner" in command and "--streaming" not in command
    (image,) = _image_assets(batch.directory)
    assert image["source"]["dockerFile"] == "infra/processing/images/worker/Dockerfile"


def test_batch_task_role_holds_todays_grants(batch: Assembly) -> None:
    job = batch.stacks.processing.batch
    assert job is not None
    template = batch.template_json("Processing")
    _assert_todays_grants(_job_grants(template, batch, job.role), state=set())


def test_batch_failures_reach_the_alarm_topic(batch: Assembly) -> None:
    template = batch.template_json("Monitoring")
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    assert {"FailedInvocations"} <= {a["Properties"].get("MetricName") for a in alarms}
    assert not any("flink" in str(a["Properties"].get("MetricName", "")) for a in alarms)
    (rule,) = resources(template, "AWS::Events::Rule")
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["detail"]["lastStatus"] == ["STOPPED"]
    assert pattern["detail"]["containers"] == {"exitCode": [{"anything-but": 0}]}
    topic = batch.stacks.monitoring.alarms.topic
    assert rule["Properties"]["Targets"][0]["Arn"] == {"Ref": logical_id(topic)}
