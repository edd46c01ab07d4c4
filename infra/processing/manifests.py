"""The Kubernetes objects of the Flink option, as plain data (pure: the CDK construct and tests use them).

`FlinkDeployment` (Flink Kubernetes operator, flink.apache.org/v1beta1): the job manager runs Beam's
`FlinkPortableClientEntryPoint` from the job-server jar, which starts the pipeline's Python driver and
submits the job to this Flink; every task manager pod carries the Beam worker pool as a sidecar, which
the job reaches at `localhost:50000` (`environment_type=EXTERNAL`).

The deployment's cell-key secret reaches every process that may key records (the startup check, the
driver, which builds the release steps with it, and the worker pool, which runs them) through
`anonflow.dataflow.cellsecret`: each starts from the secret read with the pods' own IAM role, and the job
runs with `--require_cell_key_secret`, so it never falls back to a key of its own.
Every Flink pod exposes Flink's Prometheus reporter on a port named `metrics`, which the cluster's
CloudWatch agent scrapes (metrics_agent.py).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any, Final

from anonflow.infra.config import FlinkOnEksConfig

NAMESPACE: Final = "anonflow"
SERVICE_ACCOUNT: Final = "anonflow-job"
DEPLOYMENT_NAME: Final = "anonflow-entries"
WORKER_POOL_PORT: Final = 50000
JOB_SERVER_JAR: Final = "local:///opt/flink/usrlib/beam-runners-flink-job-server.jar"
ENTRY_CLASS: Final = "org.apache.beam.runners.flink.FlinkPortableClientEntryPoint"
# Flink's Prometheus reporter; restarts and failed checkpoints are read from it (infra/README.md).
METRICS_PORT: Final = 9249
METRICS_PORT_NAME: Final = "metrics"
MAIN_CONTAINER: Final = "flink-main-container"  # the operator merges its container into this one
WORKER_POOL_BOOT: Final = "/opt/apache/beam/boot"  # the SDK image's entry point (images/worker)


@dataclass(frozen=True, slots=True)
class FlinkJobTarget:
    """Where the job reads and writes; tokens of CDK values are fine (resolved at deploy time).

    state_uri: s3://bucket/prefix for checkpoints, savepoints and HA metadata (no trailing slash).
    """

    job_server_image: str
    worker_image: str
    stream_name: str
    tables_uri: str
    dead_letters_uri: str
    state_uri: str
    region: str
    metrics_namespace: str
    cell_key_secret: str


def with_cell_key(target: FlinkJobTarget, command: list[str]) -> list[str]:
    """`command` started with the deployment's cell-key secret in its environment (dataflow/cellsecret.py)."""
    return [
        "python",
        "-m",
        "anonflow.dataflow.cellsecret",
        f"--secret-id={target.cell_key_secret}",
        f"--region={target.region}",
        "--",
        *command,
    ]


def job_options(target: FlinkJobTarget) -> list[str]:
    """The job's own options: what it reads and writes (the driver and the startup check both take them)."""
    return [
        f"--input=kinesis://{target.stream_name}",
        f"--output={target.tables_uri}",
        f"--dead_letter_output={target.dead_letters_uri}",
        f"--s3_region_name={target.region}",
        f"--metrics_namespace={target.metrics_namespace}",
        "--k_anonymity=3",
        "--require_cell_key_secret",
        "--require_topic_record",
    ]


def driver_command(target: FlinkJobTarget) -> str:
    """The pipeline's command line the entry point runs through bash (it appends the job endpoint it
    serves); the driver builds the release steps with the cell-key secret, so it starts with it."""
    arguments = [
        "python",
        "-m",
        "anonflow.dataflow.pipeline",
        "--runner=PortableRunner",
        "--streaming",
        "--environment_type=EXTERNAL",
        f"--environment_config=localhost:{WORKER_POOL_PORT}",
        *job_options(target),
    ]
    return shlex.join(with_cell_key(target, arguments))


def preflight_container(target: FlinkJobTarget) -> dict[str, Any]:
    """The job manager's init container: the job's startup check (dataflow/preflight.py) with the job's
    options. A problem stops the pod with one line in `kubectl logs -c preflight`; the deployment never
    becomes stable and the operator rolls back to the last stable spec."""
    return {
        "name": "preflight",
        "image": target.job_server_image,
        "command": with_cell_key(
            target, ["python", "-m", "anonflow.dataflow.preflight", *job_options(target)]
        ),
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
    }


def main_container() -> dict[str, Any]:
    """What the pod templates add to Flink's own container: the reporter's port, named for the scraper."""
    return {
        "name": MAIN_CONTAINER,
        "ports": [{"name": METRICS_PORT_NAME, "containerPort": METRICS_PORT, "protocol": "TCP"}],
    }


def job_manager_pod(target: FlinkJobTarget) -> dict[str, Any]:
    """Pod template merged by the operator into the job manager pod (a core v1 Pod)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "job-manager-pod-template"},
        "spec": {
            "initContainers": [preflight_container(target)],
            "containers": [main_container()],
        },
    }


def worker_pool_container(target: FlinkJobTarget) -> dict[str, Any]:
    """The task managers' sidecar serving Python SDK harnesses (they inherit its environment)."""
    return {
        "name": "beam-worker-pool",
        "image": target.worker_image,
        "command": with_cell_key(target, [WORKER_POOL_BOOT]),
        "args": ["--worker_pool"],
        "ports": [{"name": "worker-pool", "containerPort": WORKER_POOL_PORT, "protocol": "TCP"}],
        "livenessProbe": {"tcpSocket": {"port": WORKER_POOL_PORT}, "periodSeconds": 30},
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
    }


def task_manager_pod(target: FlinkJobTarget) -> dict[str, Any]:
    """Pod template merged by the operator into each task manager pod (a core v1 Pod)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "task-manager-pod-template"},
        "spec": {"containers": [main_container(), worker_pool_container(target)]},
    }


def flink_deployment(settings: FlinkOnEksConfig, target: FlinkJobTarget) -> dict[str, Any]:
    """The FlinkDeployment running the job, savepoint-upgraded, with state in S3."""
    return {
        "apiVersion": "flink.apache.org/v1beta1",
        "kind": "FlinkDeployment",
        "metadata": {"name": DEPLOYMENT_NAME, "namespace": NAMESPACE},
        "spec": {
            "image": target.job_server_image,
            "flinkVersion": "v" + settings.flink_version.replace(".", "_"),
            "serviceAccount": SERVICE_ACCOUNT,
            "flinkConfiguration": {
                "taskmanager.numberOfTaskSlots": str(settings.task_slots),
                "execution.checkpointing.interval": f"{settings.checkpoint_interval_s}s",
                "execution.checkpointing.mode": "EXACTLY_ONCE",
                "state.backend.type": "rocksdb",
                "state.checkpoints.dir": f"{target.state_uri}/checkpoints",
                "state.savepoints.dir": f"{target.state_uri}/savepoints",
                "high-availability.type": "kubernetes",
                "high-availability.storageDir": f"{target.state_uri}/ha",
                "restart-strategy.type": "exponential-delay",
                "kubernetes.operator.periodic.savepoint.interval": "6h",
                "metrics.reporter.prom.factory.class": (
                    "org.apache.flink.metrics.prometheus.PrometheusReporterFactory"
                ),
                "metrics.reporter.prom.port": str(METRICS_PORT),
                # A spec that does not become stable (the startup check fails, the job does not run)
                # is rolled back to the last stable one.
                "kubernetes.operator.deployment.rollback.enabled": "true",
                "kubernetes.operator.deployment.readiness.timeout": "5min",
            },
            "jobManager": {
                "replicas": 1,
                "resource": {"cpu": 1, "memory": "2048m"},
                "podTemplate": job_manager_pod(target),
            },
            "taskManager": {
                "resource": {"cpu": 1, "memory": "4096m"},
                "podTemplate": task_manager_pod(target),
            },
            "job": {
                "jarURI": JOB_SERVER_JAR,
                "entryClass": ENTRY_CLASS,
                "args": ["--driver-cmd", driver_command(target)],
                "parallelism": settings.parallelism,
                "upgradeMode": "savepoint",
                "state": "running",
            },
        },
    }
