"""Flink's job gauges into CloudWatch: the CloudWatch agent on the job's cluster (metrics_agent.py), its
log group, and its service account whose IAM role (IRSA) may only write that log group.

CloudWatch takes Prometheus metrics from the agent as embedded-metric-format log events (the agent's only
Prometheus-to-CloudWatch path): the metrics the alarms read are extracted from the log group into their
namespace. The `cloudwatch:namespace` condition key applies to PutMetricData only, which this path does
not call; what pins the namespace is the agent's configuration, applied by this stack, and a role that
can write no other log group.
"""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_eks as eks
from aws_cdk import aws_logs as logs
from constructs import Construct

from anonflow.infra.observability.alarms import FLINK_DIMENSION, FLINK_JOB_GAUGES, FLINK_METRICS_NAMESPACE
from anonflow.infra.processing import metrics_agent
from anonflow.infra.suppressions import accept_finding


class FlinkMetricsAgent(Construct):
    """`log_group` receives the agent's EMF events; `role` is the agent's (IRSA) role."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.Cluster,
        cluster_name: str,
        agent_version: str,
    ) -> None:
        super().__init__(scope, construct_id)
        log_group_name = f"/aws/containerinsights/{cluster_name}/prometheus"  # the agent's default name
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=log_group_name,
            retention=logs.RetentionDays.TWO_WEEKS,
            removal_policy=RemovalPolicy.DESTROY,
        )
        accept_finding(
            self.log_group,
            "CKV_AWS_158",
            "Holds the Flink job's restart and failed-checkpoint counts; CloudWatch Logs encrypts at rest.",
        )
        self.target = metrics_agent.FlinkMetricsTarget(
            cluster_name=cluster_name,
            region=Aws.REGION,
            log_group_name=log_group_name,
            metric_namespace=FLINK_METRICS_NAMESPACE,
            metric_names=FLINK_JOB_GAUGES,
            dimension=FLINK_DIMENSION,
            agent_version=agent_version,
        )
        namespace = cluster.add_manifest("MetricsNamespace", metrics_agent.namespace())
        self.service_account = cluster.add_service_account(
            "MetricsServiceAccount", name=metrics_agent.SERVICE_ACCOUNT, namespace=metrics_agent.NAMESPACE
        )
        self.service_account.node.add_dependency(namespace)
        self.role = self.service_account.role
        self.log_group.grant_write(self.service_account)
        self.agent = cluster.add_manifest("MetricsAgent", *metrics_agent.agent_objects(self.target))
        self.agent.node.add_dependency(self.service_account)
