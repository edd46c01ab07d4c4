"""The CloudWatch agent that publishes the Flink job's gauges the alarms read, as plain Kubernetes objects
(pure: the construct in flink_metrics.py applies them, tests validate them).

AWS's documented route from Prometheus on EKS to CloudWatch: the CloudWatch agent with Prometheus
monitoring, one Deployment with two configurations, a Prometheus scrape configuration and the agent's
own. The agent scrapes Flink's Prometheus reporter on every pod of the FlinkDeployment (the port named
`metrics`, manifests.py), keeps only the gauges the alarms read, and writes them in CloudWatch's embedded
metric format (EMF) to one log group; CloudWatch extracts the declared metrics into the alarms' namespace
with the alarms' one dimension, the FlinkDeployment's name (taken from the pods' `app` label, which Flink
sets to the deployment's cluster id). So the agent's IAM role needs to write that one log group only.

The agent runs in a namespace of its own under its own service account (IRSA); it may list and watch
pods in the job's namespace only (a Role there, not a ClusterRole).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import yaml

from anonflow.infra.processing import manifests

NAMESPACE: Final = "anonflow-metrics"
NAME: Final = "cwagent-prometheus"
SERVICE_ACCOUNT: Final = NAME
IMAGE: Final = "public.ecr.aws/cloudwatch-agent/cloudwatch-agent"
AGENT_CONFIG_DIR: Final = "/etc/cwagentconfig"  # where the agent's container image looks for its config
PROMETHEUS_CONFIG_DIR: Final = "/etc/prometheusconfig"
PROMETHEUS_CONFIG_FILE: Final = "prometheus.yaml"
AGENT_CONFIG_FILE: Final = "cwagentconfig.json"
SCRAPE_JOB: Final = "anonflow-flink"
SCRAPE_INTERVAL: Final = "1m"  # the alarms' period is 5 minutes
# Labels on the published series: the dimension (the deployment), and which pod kind reported.
_POD_APP_LABEL: Final = "__meta_kubernetes_pod_label_app"


@dataclass(frozen=True, slots=True)
class FlinkMetricsTarget:
    """What the agent scrapes and where it publishes (CDK tokens are fine for region).

    metric_names: the Prometheus names of the gauges to publish (the alarms' metric names);
    dimension: the one CloudWatch dimension they carry, valued with the FlinkDeployment's name.
    """

    cluster_name: str
    region: str
    log_group_name: str
    metric_namespace: str
    metric_names: tuple[str, ...]
    dimension: str
    agent_version: str
    job_namespace: str = manifests.NAMESPACE
    deployment: str = manifests.DEPLOYMENT_NAME


def _exactly(names: Sequence[str]) -> str:
    """A regex (RE2, as Prometheus and the agent use) matching exactly one of `names`."""
    return "^(" + "|".join(re.escape(n) for n in names) + ")$"


def scrape_config(target: FlinkMetricsTarget) -> dict[str, Any]:
    """Prometheus scrape configuration: the FlinkDeployment's pods on their `metrics` port, and of what
    they report only the gauges to publish (nothing else reaches the log group)."""
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "scrape_timeout": "10s"},
        "scrape_configs": [
            {
                "job_name": SCRAPE_JOB,
                "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [target.job_namespace]}}],
                "relabel_configs": [
                    {
                        "source_labels": ["__meta_kubernetes_pod_container_port_name"],
                        "action": "keep",
                        "regex": manifests.METRICS_PORT_NAME,
                    },
                    {
                        "source_labels": [_POD_APP_LABEL],
                        "action": "keep",
                        "regex": re.escape(target.deployment),
                    },
                    {"source_labels": [_POD_APP_LABEL], "target_label": target.dimension},
                    {
                        "source_labels": ["__meta_kubernetes_pod_label_component"],
                        "target_label": "Component",
                    },
                ],
                "metric_relabel_configs": [
                    {
                        "source_labels": ["__name__"],
                        "action": "keep",
                        "regex": "|".join(re.escape(n) for n in target.metric_names),
                    }
                ],
            }
        ],
    }


def agent_config(target: FlinkMetricsTarget) -> dict[str, Any]:
    """The agent's configuration: Prometheus metrics through EMF into `metric_namespace`, exactly the
    declared gauges, with exactly the one dimension."""
    return {
        "agent": {"region": target.region},
        "logs": {
            "metrics_collected": {
                "prometheus": {
                    "cluster_name": target.cluster_name,
                    "log_group_name": target.log_group_name,
                    "prometheus_config_path": f"{PROMETHEUS_CONFIG_DIR}/{PROMETHEUS_CONFIG_FILE}",
                    "emf_processor": {
                        "metric_namespace": target.metric_namespace,
                        "metric_declaration": [
                            {
                                "source_labels": [target.dimension],
                                "label_matcher": _exactly([target.deployment]),
                                "dimensions": [[target.dimension]],
                                "metric_selectors": [_exactly([n]) for n in target.metric_names],
                            }
                        ],
                    },
                }
            }
        },
    }


def _config_map(name: str, file_name: str, text: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "data": {file_name: text},
    }


def namespace() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}


def agent_objects(target: FlinkMetricsTarget) -> list[dict[str, Any]]:
    """The agent's two configurations, its pod-reading Role in the job's namespace, and the Deployment
    (its namespace and service account are created by the construct, the account with its IAM role)."""
    role = f"{NAME}-pods"
    agent_json = json.dumps(agent_config(target), indent=2, sort_keys=True)
    scrape_yaml = yaml.safe_dump(scrape_config(target), sort_keys=False)
    return [
        _config_map(f"{NAME}-agent", AGENT_CONFIG_FILE, agent_json),
        _config_map(f"{NAME}-scrape", PROMETHEUS_CONFIG_FILE, scrape_yaml),
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": role, "namespace": target.job_namespace},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": role, "namespace": target.job_namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": NAMESPACE}],
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": NAME, "namespace": NAMESPACE},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": NAME}},
                "template": {
                    "metadata": {"labels": {"app": NAME}},
                    "spec": {
                        "serviceAccountName": SERVICE_ACCOUNT,
                        "containers": [
                            {
                                "name": "cloudwatch-agent",
                                "image": f"{IMAGE}:{target.agent_version}",
                                "resources": {
                                    "requests": {"cpu": "200m", "memory": "200Mi"},
                                    "limits": {"cpu": "1", "memory": "1000Mi"},
                                },
                                "volumeMounts": [
                                    {"name": "agent-config", "mountPath": AGENT_CONFIG_DIR},
                                    {"name": "scrape-config", "mountPath": PROMETHEUS_CONFIG_DIR},
                                ],
                                "securityContext": {"allowPrivilegeEscalation": False},
                            }
                        ],
                        "volumes": [
                            {"name": "agent-config", "configMap": {"name": f"{NAME}-agent"}},
                            {"name": "scrape-config", "configMap": {"name": f"{NAME}-scrape"}},
                        ],
                        "terminationGracePeriodSeconds": 60,
                    },
                },
            },
        },
    ]
