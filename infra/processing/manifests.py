"""The Kubernetes objects of the Flink option, as plain data (pure: the CDK construct and tests use them).

`FlinkDeployment` (Flink Kubernetes operator, flink.apache.org/v1beta1): the job manager runs Beam's
`FlinkPortableClientEntryPoint` from the job-server jar, which starts the pipeline's Python driver and
submits the job to this Flink; every task manager pod carries the Beam worker pool as a sidecar, which
the job reaches at `localhost:50000` (`environment_type=EXTERNAL`).
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


def job_options(target: FlinkJobTarget) -> list[str]:
    """The job's own options: what it reads and writes (the driver and the startup check both take them)."""
    return [
        f"--input=kinesis://{target.stream_name}",
        f"--output={target.tables_uri}",
        f"--dead_letter_output={target.dead_letters_uri}",
        f"--s3_region_name={target.region}",
        f"--metrics_namespace={target.metrics_namespace}",
        "--k_anonymity=3",
    ]


def driver_command(target: FlinkJobTarget) -> str:
    """The pipeline's command line the entry point runs (it adds the job endpoint it serves)."""
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
    return shlex.join(arguments)


def preflight_container(target: FlinkJobTarget) -> dict[str, Any]:
    """The job manager's init container: the job's startup check (dataflow/preflight.py) with the job's
    options. A problem stops the pod with one line in `kubectl logs -c preflight`; the deployment never
    becomes stable and the operator rolls back to the last stable spec."""
    return {
        "name": "preflight",
        "image": target.job_server_image,
        "command": ["python", "-m", "anonflow.dataflow.preflight", *job_options(target)],
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
    }


def job_manager_pod(target: FlinkJobTarget) -> dict[str, Any]:
    """Pod template merged by the operator into the job manager pod (a core v1 Pod)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "job-manager-pod-template"},
        # The operator merges its main container into the one of this name.
        "spec": {
            "initContainers": [preflight_container(target)],
            "containers": [{"name": "flink-main-container"}],
        },
    }


def worker_pool_container(image: str) -> dict[str, Any]:
    """The task managers' sidecar serving Python SDK harnesses."""
    return {
        "name": "beam-worker-pool",
        "image": image,
        "args": ["--worker_pool"],
        "ports": [{"name": "worker-pool", "containerPort": WORKER_POOL_PORT, "protocol": "TCP"}],
        "livenessProbe": {"tcpSocket": {"port": WORKER_POOL_PORT}, "periodSeconds": 30},
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
    }


def task_manager_pod(worker_image: str) -> dict[str, Any]:
    """Pod template merged by the operator into each task manager pod (a core v1 Pod)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "task-manager-pod-template"},
        "spec": {"containers": [worker_pool_container(worker_image)]},
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
                "podTemplate": task_manager_pod(target.worker_image),
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
