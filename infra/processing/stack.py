"""ProcessingStack: the Beam job on Managed Service for Apache Flink."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from anonflow.contract import metrics
from anonflow.infra.config import EnvironmentConfig
from anonflow.infra.data.stack import DataStack
from anonflow.infra.processing.beam_on_flink import BeamOnFlink


class ProcessingStack(Stack):
    """The Flink application running the Beam job jar from the artifacts bucket, and its role."""

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
        self.job = BeamOnFlink(
            self,
            "BeamJob",
            application_name=f"{config.prefix}-beam",
            settings=config.flink,
            code_bucket=data.artifacts_bucket,
            stream=data.entry_stream,
            raw_bucket=data.raw_bucket,
            tables_bucket=data.tables_bucket,
            operators_bucket=data.operators_bucket,
            metrics_namespace=metrics.namespace(config.name),
        )
        CfnOutput(self, "FlinkApplicationName", value=self.job.application_name)
        CfnOutput(self, "FlinkRoleArn", value=self.job.role.role_arn)
