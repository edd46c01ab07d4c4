"""The Beam job streaming on Apache Flink in EKS: cluster, Flink Kubernetes operator, FlinkDeployment.

The job's pods run as the `anonflow-job` service account, whose IAM role (IRSA) holds the job's grants:
read the stream and the raw archive, write the tables, keep Flink state under `flink/` in the artifacts
bucket, publish metrics only into the environment's namespace, read the cell-key secret. The CloudWatch
agent publishing Flink's own gauges runs beside it under an account of its own (flink_metrics.py).
"""

from __future__ import annotations

from typing import Final

from aws_cdk import Aws
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_s3 as s3
from aws_cdk.lambda_layer_kubectl_v33 import KubectlV33Layer
from constructs import Construct

from anonflow.infra.config import FlinkOnEksConfig
from anonflow.infra.data import layout
from anonflow.infra.processing import images, manifests
from anonflow.infra.processing.cell_key_secret import CellKeySecret
from anonflow.infra.processing.flink_metrics import FlinkMetricsAgent

OPERATOR_CHART: Final = "flink-kubernetes-operator"
OPERATOR_NAMESPACE: Final = "flink-operator"


def operator_repository(version: str) -> str:
    """The operator's Helm repository for one release (archive.apache.org keeps every release)."""
    return f"https://archive.apache.org/dist/flink/flink-kubernetes-operator-{version}/"


def grant_job_access(
    principal: iam.IGrantable,
    *,
    stream: kinesis.IStream,
    raw_bucket: s3.IBucket,
    tables_bucket: s3.IBucket,
    operators_bucket: s3.IBucket,
    metrics_namespace: str,
) -> None:
    """Today's grants of the job, whichever option runs it."""
    stream.grant_read(principal)
    raw_bucket.grant_read(principal, f"{layout.RAW_ENTRIES_PREFIX}*")
    tables_bucket.grant_read_write(principal, f"{layout.TABLES_PREFIX}*")
    operators_bucket.grant_read_write(principal, f"{layout.DEAD_LETTERS_PREFIX}*")
    principal.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],  # PutMetricData has no resource-level scoping; the namespace is pinned below.
            conditions={"StringEquals": {"cloudwatch:namespace": metrics_namespace}},
        )
    )


class FlinkOnEks(Construct):
    """EKS cluster + operator chart + the job's namespace, service account and FlinkDeployment."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster_name: str,
        settings: FlinkOnEksConfig,
        beam_version: str,
        vpc: ec2.IVpc,
        stream: kinesis.IStream,
        raw_bucket: s3.IBucket,
        tables_bucket: s3.IBucket,
        operators_bucket: s3.IBucket,
        state_bucket: s3.IBucket,
        metrics_namespace: str,
        cell_key_secret: CellKeySecret,
    ) -> None:
        super().__init__(scope, construct_id)
        self.cluster = eks.Cluster(
            self,
            "Cluster",
            cluster_name=cluster_name,
            version=eks.KubernetesVersion.of(settings.kubernetes_version),
            kubectl_layer=KubectlV33Layer(self, "Kubectl"),
            vpc=vpc,
            vpc_subnets=[ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)],
            default_capacity=settings.node_count,
            default_capacity_instance=ec2.InstanceType(settings.instance_type),
            endpoint_access=eks.EndpointAccess.PRIVATE,
            cluster_logging=[
                eks.ClusterLoggingTypes.API,
                eks.ClusterLoggingTypes.AUDIT,
                eks.ClusterLoggingTypes.AUTHENTICATOR,
            ],
        )
        # Webhooks need cert-manager; the FlinkDeployment is validated here instead (tests/infra).
        self.operator = self.cluster.add_helm_chart(
            "FlinkOperator",
            chart=OPERATOR_CHART,
            repository=operator_repository(settings.operator_version),
            version=settings.operator_version,
            namespace=OPERATOR_NAMESPACE,
            create_namespace=True,
            values={"webhook": {"create": False}, "watchNamespaces": [manifests.NAMESPACE]},
            wait=True,
        )
        namespace = self.cluster.add_manifest(
            "Namespace",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": manifests.NAMESPACE}},
        )
        self.service_account = self.cluster.add_service_account(
            "JobServiceAccount", name=manifests.SERVICE_ACCOUNT, namespace=manifests.NAMESPACE
        )
        self.service_account.node.add_dependency(namespace)
        self.role = self.service_account.role
        grant_job_access(
            self.service_account,
            stream=stream,
            raw_bucket=raw_bucket,
            tables_bucket=tables_bucket,
            operators_bucket=operators_bucket,
            metrics_namespace=metrics_namespace,
        )
        state_bucket.grant_read_write(self.service_account, f"{layout.FLINK_STATE_PREFIX}*")
        cell_key_secret.grant_read(self.service_account)  # read at each container's start (cellsecret)

        self.worker_image = images.worker_image(self, beam_version)
        self.job_server_image = images.job_server_image(self, beam_version, settings.flink_version)
        for image in (self.worker_image, self.job_server_image):
            image.repository.grant_pull(self.cluster.default_nodegroup.role)  # type: ignore[union-attr]
        target = manifests.FlinkJobTarget(
            job_server_image=self.job_server_image.image_uri,
            worker_image=self.worker_image.image_uri,
            stream_name=stream.stream_name,
            tables_uri=f"s3://{tables_bucket.bucket_name}/{layout.TABLES_PREFIX}",
            dead_letters_uri=f"s3://{operators_bucket.bucket_name}/{layout.DEAD_LETTERS_PREFIX}",
            state_uri=f"s3://{state_bucket.bucket_name}/{layout.FLINK_STATE_PREFIX.rstrip('/')}",
            region=Aws.REGION,
            metrics_namespace=metrics_namespace,
            cell_key_secret=cell_key_secret.secret.secret_arn,
        )
        self.deployment = self.cluster.add_manifest(
            "FlinkDeployment", manifests.flink_deployment(settings, target)
        )
        # The custom resource type exists once the operator's chart is in; the account before the pods.
        self.deployment.node.add_dependency(self.operator)
        self.deployment.node.add_dependency(self.service_account)
        self.deployment_name = manifests.DEPLOYMENT_NAME
        self.metrics = FlinkMetricsAgent(
            self,
            "MetricsAgent",
            cluster=self.cluster,
            cluster_name=cluster_name,
            agent_version=settings.cloudwatch_agent_version,
        )
        self.metrics.agent.node.add_dependency(namespace)  # its pod-reading Role lives in the job's namespace
