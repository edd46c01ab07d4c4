"""The Kubernetes objects the Processing stack applies, validated offline against their schemas.

Core objects (Namespace, the task managers' Pod template) against Kubernetes' own OpenAPI schemas, shipped
by the `kubernetes-validate` package. The FlinkDeployment is a custom resource whose schema lives in the
operator's CRD, which no package ships: FLINK_DEPLOYMENT below is a hand-written subset of the operator's
flink.apache.org/v1beta1 CRD, covering every field anonflow sets (unknown fields are rejected, so a typo
fails). Each schema is shown to catch a broken object (the negative rows).
"""

from __future__ import annotations

import copy
import shlex
from collections.abc import Callable
from typing import Any, Final

import jsonschema
import kubernetes_validate  # type: ignore[import-untyped]  # ships no type information
import pytest
from kubernetes_validate.utils import (  # type: ignore[import-untyped]
    ValidationError as KubernetesValidationError,
)

from anonflow.infra.processing import manifests, scheduled_batch
from tests.kit.cdk import Assembly, kubernetes_objects

KUBERNETES_VERSION: Final = "1.33"  # the EKS version of infra/config.py's FlinkOnEksConfig
_RESOURCE: Final = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"cpu": {"type": "number"}, "memory": {"type": "string", "pattern": r"^\d+[mgMG]i?$"}},
}
FLINK_DEPLOYMENT: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "flink.apache.org/v1beta1"},
        "kind": {"const": "FlinkDeployment"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 45},
                "namespace": {"type": "string"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "spec": {
            "type": "object",
            "required": ["image", "flinkVersion", "serviceAccount", "jobManager", "taskManager", "job"],
            "additionalProperties": False,
            "properties": {
                "image": {"type": "string"},
                "flinkVersion": {"enum": ["v1_17", "v1_18", "v1_19", "v1_20"]},
                "serviceAccount": {"type": "string"},
                "flinkConfiguration": {"type": "object", "additionalProperties": {"type": "string"}},
                "jobManager": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "replicas": {"type": "integer", "minimum": 1},
                        "resource": _RESOURCE,
                        "podTemplate": {"type": "object"},
                    },
                },
                "taskManager": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "replicas": {"type": "integer", "minimum": 1},
                        "resource": _RESOURCE,
                        "podTemplate": {"type": "object"},
                    },
                },
                "job": {
                    "type": "object",
                    "required": ["jarURI"],
                    "additionalProperties": False,
                    "properties": {
                        "jarURI": {"type": "string"},
                        "entryClass": {"type": "string"},
                        "args": {"type": "array", "items": {"type": "string"}},
                        "parallelism": {"type": "integer", "minimum": 1},
                        "upgradeMode": {"enum": ["savepoint", "last-state", "stateless"]},
                        "state": {"enum": ["running", "suspended"]},
                        "savepointTriggerNonce": {"type": "integer"},
                        "initialSavepointPath": {"type": "string"},
                        "allowNonRestoredState": {"type": "boolean"},
                    },
                },
            },
        },
    },
}


def _applied(assembly: Assembly) -> list[dict[str, Any]]:
    return kubernetes_objects(assembly.template_json("Processing"))


def _flink_deployment(assembly: Assembly) -> dict[str, Any]:
    (deployment,) = [o for o in _applied(assembly) if o["kind"] == "FlinkDeployment"]
    return deployment


def _validate(kind: str, item: dict[str, Any]) -> None:
    if kind == "FlinkDeployment":
        jsonschema.validate(item, FLINK_DEPLOYMENT)
        _validate("Pod", item["spec"]["taskManager"]["podTemplate"])
        _validate("Pod", item["spec"]["jobManager"]["podTemplate"])
    else:
        kubernetes_validate.validate(item, KUBERNETES_VERSION, strict=True)


def test_applied_objects_are_valid(assembly: Assembly) -> None:
    objects = _applied(assembly)
    flink = {"Namespace", "ServiceAccount", "FlinkDeployment"}
    agent = {"ConfigMap", "Role", "RoleBinding", "Deployment"}  # the CloudWatch agent's (metrics_agent.py)
    assert {o["kind"] for o in objects} == flink | agent
    for item in objects:
        _validate(item["kind"], item)


def _set(path: tuple[str | int, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(item: dict[str, Any]) -> None:
        target: Any = item
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


_SIDECAR = ("spec", "taskManager", "podTemplate", "spec", "containers", 1)
_PREFLIGHT = ("spec", "jobManager", "podTemplate", "spec", "initContainers", 0)


@pytest.mark.parametrize(
    ("edit", "error"),
    [
        (_set(("spec", "flinkConfiguration", "taskmanager.numberOfTaskSlots"), 2), "is not of type 'string'"),
        (_set(("spec", "job", "upgradeMode"), "savepoints"), "is not one of"),
        (_set(("spec", "flinkVersion"), "1.20"), "is not one of"),
        (_set(("spec", "jobManager", "replica"), 1), "'replica' was unexpected"),
        (_set((*_SIDECAR, "ports", 0, "containerPort"), "50000"), "is not of type 'integer'"),
        (_set((*_SIDECAR, "livenessProbe", "tcpSocket"), {"prot": 50000}), "'port' is a required property"),
        (_set((*_SIDECAR, "arg"), ["--worker_pool"]), "'arg' was unexpected"),
        (_set((*_PREFLIGHT, "comand"), ["python"]), "'comand' was unexpected"),
    ],
)
def test_schemas_catch_broken_objects(
    assembly: Assembly, edit: Callable[[dict[str, Any]], None], error: str
) -> None:
    broken = copy.deepcopy(_flink_deployment(assembly))
    edit(broken)
    with pytest.raises((jsonschema.ValidationError, KubernetesValidationError), match=error):
        _validate("FlinkDeployment", broken)


TARGET: Final = manifests.FlinkJobTarget(
    job_server_image="jobserver:1",
    worker_image="worker:1",
    stream_name="entries",
    tables_uri="s3://tables/t",
    dead_letters_uri="s3://operators/d",
    state_uri="s3://state/flink",
    region="eu-central-1",
    metrics_namespace="Anonflow/test",
    cell_key_secret="arn:aws:secretsmanager:eu-central-1:123456789012:secret:anonflow-test/job/cell-key-AbCdEf",
)
LAUNCHER: Final = [
    "python",
    "-m",
    "anonflow.dataflow.cellsecret",
    f"--secret-id={TARGET.cell_key_secret}",
    "--region=eu-central-1",
    "--",
]


def test_pod_templates_name_the_worker_pool_and_metrics_ports() -> None:
    pod = manifests.task_manager_pod(TARGET)
    kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)
    main, worker_pool = pod["spec"]["containers"]
    assert worker_pool["ports"][0]["containerPort"] == manifests.WORKER_POOL_PORT
    for flink in (main, manifests.job_manager_pod(TARGET)["spec"]["containers"][0]):
        assert flink["name"] == "flink-main-container"
        assert flink["ports"] == [{"name": "metrics", "containerPort": 9249, "protocol": "TCP"}]


def test_every_process_of_the_job_starts_with_the_cell_key_secret() -> None:
    """The startup check, the driver (it builds the release steps with the key) and the worker pool (its
    SDK harnesses inherit its environment) start through the launcher; the job refuses to run without."""
    (check,) = manifests.job_manager_pod(TARGET)["spec"]["initContainers"]
    driver = shlex.split(manifests.driver_command(TARGET))
    (worker_pool,) = [c for c in manifests.task_manager_pod(TARGET)["spec"]["containers"] if "image" in c]
    for command in (check["command"], driver, worker_pool["command"]):
        assert command[: len(LAUNCHER)] == LAUNCHER
    assert worker_pool["command"][len(LAUNCHER) :] == ["/opt/apache/beam/boot"]
    assert worker_pool["args"] == ["--worker_pool"]
    assert "--require_cell_key_secret" in manifests.job_options(TARGET)


def test_the_job_manager_checks_the_jobs_options_before_it_starts() -> None:
    """The init container runs the startup check with exactly the options the driver runs with."""
    pod = manifests.job_manager_pod(TARGET)
    kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)
    (check,) = pod["spec"]["initContainers"]
    command = check["command"][len(LAUNCHER) :]
    assert command[:3] == ["python", "-m", "anonflow.dataflow.preflight"]
    options = command[3:]
    driver = shlex.split(manifests.driver_command(TARGET))
    assert driver[-len(options) :] == options and "--input=kinesis://entries" in options


@pytest.mark.parametrize(
    "deployed",
    [
        pytest.param(lambda: manifests.job_options(TARGET), id="flink-streaming"),
        pytest.param(
            lambda: scheduled_batch.batch_command(
                raw_bucket="raw",
                tables_bucket="tables",
                operators_bucket="operators",
                region="eu-central-1",
                metrics_namespace="Anonflow/test",
            ),
            id="scheduled-batch",
        ),
    ],
)
def test_deployed_jobs_trust_only_the_topics_store_and_the_deployments_key(
    deployed: Callable[[], list[str]],
) -> None:
    """Both deployment options read what the entries rule writes: each entry's store is checked against
    its topic's (a gateway cannot write another store's tables), and the cell key is the deployment's."""
    options = deployed()
    assert {"--require_topic_record", "--require_cell_key_secret"} <= set(options)
