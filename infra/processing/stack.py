"""ProcessingStack: where the Beam job runs on AWS, as the environment file's `processing.runner` says.

`flink-eks`: streaming on Flink in EKS (operator + FlinkDeployment with the worker-pool sidecar).
`scheduled-batch`: an ECS Fargate task over the raw archive on a schedule. Google Cloud users run the same
job on Dataflow (infra/jobs/dataflow.yaml).
"""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import Aspects, CfnOutput, CfnResource, Fn, IAspect, Stack
from aws_cdk import aws_ec2 as ec2
from constructs import Construct, IConstruct

from anonflow.contract import metrics
from anonflow.infra.config import EnvironmentConfig
from anonflow.infra.data.stack import DataStack
from anonflow.infra.observability.alarms import JobSignals
from anonflow.infra.processing.cell_key_secret import CellKeySecret
from anonflow.infra.processing.flink_on_eks import FlinkOnEks
from anonflow.infra.processing.scheduled_batch import ScheduledBatch
from anonflow.infra.suppressions import CDK_ROLE_DEPENDENCY, accept_finding, accept_lint_warning

_HELPER_REASON = "CDK's deploy-time helper for the EKS cluster (create, OIDC provider, kubectl); no traffic."


@jsii.implements(IAspect)
class _AcceptHelperFindings:
    """CDK's deploy-time helpers of the EKS cluster (cluster creation, OIDC provider, kubectl) are
    Lambda-backed custom resources that never serve traffic; their IAM is what creating a cluster needs."""

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, CfnResource):
            return
        path, kind = node.node.path, node.cfn_resource_type
        helper = "CustomResourceProvider" in path or "/Cluster/Resource/CreationRole/" in path
        if helper and kind == "AWS::Lambda::Function":
            for check in ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"):
                accept_finding(node, check, _HELPER_REASON)
        if helper and kind in ("AWS::IAM::Role", "AWS::IAM::Policy"):
            accept_finding(node, "CKV_AWS_109", _HELPER_REASON)
        if kind in ("AWS::Lambda::Function", "Custom::AWSCDK-EKS-Cluster", "AWS::CloudFormation::Stack"):
            accept_lint_warning(node, "W3005", CDK_ROLE_DEPENDENCY)


class ProcessingStack(Stack):
    """A VPC with private subnets and one of the job's two runtimes."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        data: DataStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        settings = config.processing
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=1,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC),
                ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            ],
        )
        flow_log = self.vpc.add_flow_log("FlowLog")
        self.cell_key = CellKeySecret(self, "CellKey", prefix=config.prefix, encryption_key=data.key)
        common: dict[str, Any] = {
            "vpc": self.vpc,
            "stream": data.entry_stream,
            "raw_bucket": data.raw_bucket,
            "tables_bucket": data.tables_bucket,
            "operators_bucket": data.operators_bucket,
            "metrics_namespace": metrics.namespace(config.name),
            "cell_key_secret": self.cell_key,
        }
        self.flink: FlinkOnEks | None = None
        self.batch: ScheduledBatch | None = None
        if settings.runner == "flink-eks":
            self.flink = FlinkOnEks(
                self,
                "FlinkOnEks",
                cluster_name=f"{config.prefix}-flink",
                settings=settings.flink,
                beam_version=settings.beam_version,
                state_bucket=data.artifacts_bucket,
                **common,
            )
            CfnOutput(self, "ClusterName", value=self.flink.cluster.cluster_name)
            CfnOutput(self, "JobRoleArn", value=self.flink.role.role_arn)
            CfnOutput(self, "FlinkDeploymentName", value=self.flink.deployment_name)
        else:
            self.batch = ScheduledBatch(
                self,
                "ScheduledBatch",
                settings=settings.batch,
                beam_version=settings.beam_version,
                **common,
            )
            CfnOutput(self, "BatchClusterArn", value=self.batch.cluster.cluster_arn)
            CfnOutput(self, "JobRoleArn", value=self.batch.role.role_arn)
            CfnOutput(self, "ScheduleRuleName", value=self.batch.schedule.rule_name)
        CfnOutput(
            self,
            "CellKeySecretName",
            value=self.cell_key.name,
            description="The job's cell-key secret (its name; the value stays in Secrets Manager)",
        )
        accept_finding(
            flow_log.log_group,  # type: ignore[arg-type]
            "CKV_AWS_158",
            "Flow logs hold addresses and ports of the job's own traffic; CloudWatch Logs encrypts at rest.",
        )
        # As an aspect: the EKS construct adds some of its helpers' policies only while synthesising.
        Aspects.of(self).add(_AcceptHelperFindings())

    @property
    def availability_zones(self) -> list[str]:
        """The region's first two zones, resolved at deploy time (no context lookup, nothing hardcoded)."""
        return [Fn.select(0, Fn.get_azs()), Fn.select(1, Fn.get_azs())]

    def signals(self) -> JobSignals:
        """What the monitoring stack watches of the chosen option."""
        if self.flink is not None:
            return JobSignals(flink_deployment=self.flink.deployment_name)
        assert self.batch is not None  # one of the two options is always built
        return JobSignals(
            batch_rule_name=self.batch.schedule.rule_name,
            batch_cluster_arn=self.batch.cluster.cluster_arn,
        )
