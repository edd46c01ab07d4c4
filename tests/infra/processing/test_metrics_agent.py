"""The CloudWatch agent on the Flink cluster publishes exactly what the Flink alarms read.

The alarms are read from the synthesised Monitoring template and the agent's configurations from the
Processing template, so the check holds whatever either side is renamed to: every metric an alarm in
`Anonflow/Flink` watches must pass the scrape's filter, match a metric declaration, land in the alarm's
namespace and carry exactly the alarm's dimensions with the alarm's values (taken from the Flink pods'
`app` label). The positive controls show the same check refusing an alarm on a renamed metric, another
namespace, another dimension or another deployment.

The agent's configuration is validated against a hand-written subset of the CloudWatch agent's own JSON
schema (translator/config/schema.json of amazon-cloudwatch-agent; no package ships it), covering every
field used here, unknown fields rejected; plus the agent's rule that a declaration without
`source_labels` or `metric_selectors` is silently dropped (so both are required here).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any, Final

import jsonschema
import pytest
import yaml

from anonflow.infra.observability.alarms import FLINK_METRICS_NAMESPACE
from anonflow.infra.processing import manifests, metrics_agent
from tests.kit.cdk import (
    Assembly,
    grants,
    kubernetes_objects,
    logical_id,
    render,
    resources,
    statements_of,
)

_STRINGS: Final = {"type": "array", "items": {"type": "string"}}
CLOUDWATCH_AGENT: Final[dict[str, Any]] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "agent": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"region": {"type": "string"}},
        },
        "logs": {
            "type": "object",
            "required": ["metrics_collected"],
            "additionalProperties": False,
            "properties": {
                "metrics_collected": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "prometheus": {
                            "type": "object",
                            "required": ["prometheus_config_path", "emf_processor"],
                            "additionalProperties": False,
                            "properties": {
                                "cluster_name": {"type": "string"},
                                "log_group_name": {"type": "string"},
                                "prometheus_config_path": {"type": "string"},
                                "emf_processor": {
                                    "type": "object",
                                    "required": ["metric_namespace", "metric_declaration"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "metric_namespace": {"type": "string"},
                                        "metric_declaration_dedup": {"type": "boolean"},
                                        "metric_declaration": {
                                            "type": "array",
                                            "minItems": 1,
                                            "items": {
                                                "type": "object",
                                                "required": ["source_labels", "metric_selectors"],
                                                "additionalProperties": False,
                                                "properties": {
                                                    "source_labels": _STRINGS,
                                                    "label_matcher": {"type": "string"},
                                                    "label_separator": {"type": "string"},
                                                    "metric_selectors": _STRINGS,
                                                    "dimensions": {"type": "array", "items": _STRINGS},
                                                },
                                            },
                                        },
                                    },
                                },
                            },
                        }
                    },
                }
            },
        },
    },
}
_RELABEL: Final = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "source_labels": _STRINGS,
        "target_label": {"type": "string"},
        "regex": {"type": "string"},
        "action": {"enum": ["replace", "keep", "drop", "labelmap", "labeldrop", "labelkeep"]},
    },
}
SCRAPE: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["scrape_configs"],
    "additionalProperties": False,
    "properties": {
        "global": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "scrape_interval": {"type": "string", "pattern": r"^\d+[smh]$"},
                "scrape_timeout": {"type": "string", "pattern": r"^\d+[smh]$"},
            },
        },
        "scrape_configs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["job_name"],
                "additionalProperties": False,
                "properties": {
                    "job_name": {"type": "string"},
                    "kubernetes_sd_configs": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["role"],
                            "additionalProperties": False,
                            "properties": {
                                "role": {
                                    "enum": [
                                        "node",
                                        "service",
                                        "pod",
                                        "endpoints",
                                        "endpointslice",
                                        "ingress",
                                    ]
                                },
                                "namespaces": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "properties": {"names": _STRINGS},
                                },
                            },
                        },
                    },
                    "relabel_configs": {"type": "array", "items": _RELABEL},
                    "metric_relabel_configs": {"type": "array", "items": _RELABEL},
                },
            },
        },
    },
}


@dataclass(frozen=True, slots=True)
class Watched:
    """One metric an alarm reads: namespace, name and dimensions (name -> value)."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Published:
    """What the cluster publishes: the agent's configuration, the scrape configuration, and the labels of
    the pods it scrapes."""

    agent: dict[str, Any]
    scrape: dict[str, Any]
    pod_labels: dict[str, str]


def _flink_alarm_metrics(assembly: Assembly) -> list[Watched]:
    watched = []
    for alarm in resources(assembly.template_json("Monitoring"), "AWS::CloudWatch::Alarm"):
        for query in render(alarm["Properties"]).get("Metrics", []):
            metric = query.get("MetricStat", {}).get("Metric")
            if metric and metric["Namespace"] == FLINK_METRICS_NAMESPACE:
                dimensions = tuple(sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions", [])))
                watched.append(Watched(metric["Namespace"], metric["MetricName"], dimensions))
    return watched


def _published(assembly: Assembly) -> Published:
    objects = kubernetes_objects(assembly.template_json("Processing"))
    maps = {o["metadata"]["name"]: o["data"] for o in objects if o["kind"] == "ConfigMap"}
    agent = json.loads(maps[f"{metrics_agent.NAME}-agent"][metrics_agent.AGENT_CONFIG_FILE])
    scrape = yaml.safe_load(maps[f"{metrics_agent.NAME}-scrape"][metrics_agent.PROMETHEUS_CONFIG_FILE])
    (deployment,) = [o for o in objects if o["kind"] == "FlinkDeployment"]
    # Flink's native Kubernetes mode labels every pod of a deployment app=<its name>.
    labels = {"app": deployment["metadata"]["name"], "component": "jobmanager"}
    return Published(agent=agent, scrape=scrape, pod_labels=labels)


def _kept(relabels: list[dict[str, Any]], labels: dict[str, str]) -> dict[str, str] | None:
    """Prometheus relabelling (keep and replace with the defaults used here): the resulting labels, or
    None when the target or series is dropped. Regexes are anchored, as in Prometheus."""
    labels = dict(labels)
    for rule in relabels:
        value = ";".join(labels.get(name, "") for name in rule.get("source_labels", []))
        regex = rule.get("regex", "(.*)")
        action = rule.get("action", "replace")
        if action == "keep" and not re.fullmatch(regex, value):
            return None
        if action == "replace" and re.fullmatch(regex, value):
            labels[rule["target_label"]] = value
    return labels


def unpublished(watched: list[Watched], published: Published) -> list[str]:
    """Each alarm metric the cluster does not publish as the alarm reads it, with the reason."""
    (job,) = published.scrape["scrape_configs"]
    prometheus = published.agent["logs"]["metrics_collected"]["prometheus"]
    emf = prometheus["emf_processor"]
    pod = {f"__meta_kubernetes_pod_label_{k}": v for k, v in published.pod_labels.items()}
    pod["__meta_kubernetes_pod_container_port_name"] = manifests.METRICS_PORT_NAME
    target = _kept(job["relabel_configs"], pod)
    problems = []
    for metric in watched:
        if emf["metric_namespace"] != metric.namespace:
            problems.append(
                f"{metric.name}: published in {emf['metric_namespace']}, read in {metric.namespace}"
            )
            continue
        series = (
            None
            if target is None
            else _kept(job["metric_relabel_configs"], {**target, "__name__": metric.name})
        )
        if series is None:
            problems.append(f"{metric.name}: not scraped")
            continue
        names = sorted(name for name, _ in metric.dimensions)
        declared = [
            d
            for d in emf["metric_declaration"]
            if any(re.fullmatch(s, metric.name) for s in d["metric_selectors"])
            and re.fullmatch(
                d.get("label_matcher", ".*"),
                d.get("label_separator", ";").join(series.get(label, "") for label in d["source_labels"]),
            )
        ]
        if not any(names in [sorted(dimensions) for dimensions in d.get("dimensions", [])] for d in declared):
            problems.append(f"{metric.name}: no declaration publishes it with dimensions {names}")
        elif any(series.get(name) != value for name, value in metric.dimensions):
            problems.append(f"{metric.name}: published with {series}, read with {dict(metric.dimensions)}")
    return problems


def test_the_agent_publishes_every_metric_the_flink_alarms_read(assembly: Assembly) -> None:
    watched = _flink_alarm_metrics(assembly)
    assert {m.name for m in watched} == {
        "flink_jobmanager_job_numRestarts",
        "flink_jobmanager_job_numberOfFailedCheckpoints",
    }
    assert unpublished(watched, _published(assembly)) == []


def test_the_agent_publishes_nothing_else(assembly: Assembly) -> None:
    """Exactly the alarms' gauges: one selector per watched metric, and the scrape keeps no other series."""
    published = _published(assembly)
    watched = {m.name for m in _flink_alarm_metrics(assembly)}
    (declaration,) = published.agent["logs"]["metrics_collected"]["prometheus"]["emf_processor"][
        "metric_declaration"
    ]
    matched = [{w for w in watched if re.fullmatch(s, w)} for s in declaration["metric_selectors"]]
    assert sorted(len(m) for m in matched) == [1] * len(watched) and set().union(*matched) == watched
    (job,) = published.scrape["scrape_configs"]
    for other in ("flink_jobmanager_job_uptime", "flink_taskmanager_Status_JVM_CPU_Load", "numRestarts"):
        assert _kept(job["metric_relabel_configs"], {"__name__": other}) is None


def _renamed(metric: Watched) -> Watched:
    return replace(metric, name=metric.name.removesuffix("s"))


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (_renamed, "not scraped"),
        (lambda m: replace(m, namespace="Anonflow/test"), "published in Anonflow/Flink"),
        (lambda m: replace(m, dimensions=(("JobName", "anonflow-entries"),)), "no declaration publishes"),
        (lambda m: replace(m, dimensions=(("Deployment", "another"),)), "published with"),
    ],
    ids=["renamed metric", "other namespace", "other dimension", "other deployment"],
)
def test_positive_control_an_alarm_the_agent_does_not_feed_is_caught(
    assembly: Assembly, change: Any, problem: str
) -> None:
    watched = [change(m) for m in _flink_alarm_metrics(assembly)]
    problems = unpublished(watched, _published(assembly))
    assert len(problems) == len(watched) and all(problem in p for p in problems), problems


def test_configurations_are_valid(assembly: Assembly) -> None:
    published = _published(assembly)
    jsonschema.validate(published.agent, CLOUDWATCH_AGENT)
    jsonschema.validate(published.scrape, SCRAPE)
    prometheus = published.agent["logs"]["metrics_collected"]["prometheus"]
    assert prometheus["prometheus_config_path"] == "/etc/prometheusconfig/prometheus.yaml"
    cluster = f"{assembly.config.prefix}-flink"
    assert (prometheus["cluster_name"], prometheus["log_group_name"]) == (
        cluster,
        f"/aws/containerinsights/{cluster}/prometheus",
    )


@pytest.mark.parametrize(
    ("path", "value", "error"),
    [
        (
            ("logs", "metrics_collected", "prometheus", "emf_processor", "namespace"),
            "x",
            "'namespace' was unexpected",
        ),
        (
            (
                "logs",
                "metrics_collected",
                "prometheus",
                "emf_processor",
                "metric_declaration",
                0,
                "source_labels",
            ),
            None,
            "None is not of type 'array'",
        ),
        (
            ("logs", "metrics_collected", "prometheus", "scrape_config_path"),
            "/x",
            "'scrape_config_path' was unexpected",
        ),
    ],
)
def test_the_agent_schema_catches_a_broken_configuration(
    assembly: Assembly, path: tuple[str | int, ...], value: Any, error: str
) -> None:
    broken = json.loads(json.dumps(_published(assembly).agent))
    place: Any = broken
    for key in path[:-1]:
        place = place[key]
    place[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError, match=error):
        jsonschema.validate(broken, CLOUDWATCH_AGENT)


def test_a_declaration_the_agent_would_drop_is_refused(assembly: Assembly) -> None:
    broken = json.loads(json.dumps(_published(assembly).agent))
    del broken["logs"]["metrics_collected"]["prometheus"]["emf_processor"]["metric_declaration"][0][
        "source_labels"
    ]
    with pytest.raises(jsonschema.ValidationError, match="'source_labels' is a required property"):
        jsonschema.validate(broken, CLOUDWATCH_AGENT)


def test_the_agent_may_write_its_log_group_and_read_the_jobs_pods_only(assembly: Assembly) -> None:
    processing = assembly.stacks.processing
    assert processing.flink is not None
    agent = processing.flink.metrics
    template = assembly.template_json("Processing")
    role = template["Resources"][logical_id(agent.role)]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    (condition_id, _) = trust["Condition"]["StringEquals"]["Fn::GetAtt"]
    condition = json.dumps(render(template["Resources"][condition_id]["Properties"]))
    assert "system:serviceaccount:anonflow-metrics:cwagent-prometheus" in condition
    pairs = grants(statements_of(template, agent.role), {"logs": agent.log_group})
    assert pairs == {("logs:CreateLogStream", "{logs}"), ("logs:PutLogEvents", "{logs}")}
    objects = kubernetes_objects(template)
    assert not [o for o in objects if o["kind"].startswith("Cluster")]  # no cluster-wide rights
    (rule,) = next(o for o in objects if o["kind"] == "Role")["rules"]
    assert (rule["resources"], rule["verbs"]) == (["pods"], ["get", "list", "watch"])
    (binding,) = [o for o in objects if o["kind"] == "RoleBinding"]
    assert binding["metadata"]["namespace"] == manifests.NAMESPACE
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "cwagent-prometheus", "namespace": "anonflow-metrics"}
    ]
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "cwagent-prometheus"
    (container,) = pod["containers"]
    version = assembly.config.processing.flink.cloudwatch_agent_version
    assert container["image"] == f"public.ecr.aws/cloudwatch-agent/cloudwatch-agent:{version}"
    (log_group,) = [
        r for r in resources(template, "AWS::Logs::LogGroup") if "containerinsights" in str(r["Properties"])
    ]
    assert log_group["Properties"]["RetentionInDays"] == 14


def test_the_agent_is_applied_after_both_namespaces_exist(assembly: Assembly) -> None:
    template = assembly.template_json("Processing")
    by_id = {
        resource_id: json.loads(render(resource["Properties"]["Manifest"]))
        for resource_id, resource in template["Resources"].items()
        if resource["Type"] == "Custom::AWSCDK-EKS-KubernetesResource"
    }
    (agent_id,) = [i for i, objects in by_id.items() if any(o["kind"] == "Deployment" for o in objects)]
    namespaces = {
        objects[0]["metadata"]["name"]: i
        for i, objects in by_id.items()
        if [o["kind"] for o in objects] == ["Namespace"]
    }
    assert set(namespaces) == {manifests.NAMESPACE, metrics_agent.NAMESPACE}
    (account_id,) = [
        i
        for i, objects in by_id.items()
        if [(o["kind"], o["metadata"]["name"]) for o in objects]
        == [("ServiceAccount", metrics_agent.SERVICE_ACCOUNT)]
    ]
    resources_ = template["Resources"]
    assert {namespaces[manifests.NAMESPACE], account_id} <= set(resources_[agent_id]["DependsOn"])
    assert namespaces[metrics_agent.NAMESPACE] in resources_[account_id]["DependsOn"]
