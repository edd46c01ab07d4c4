"""The edge chain packaged as a pinned, long-lived Lambda function, imported as a Greengrass component."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aws_cdk import Duration
from aws_cdk import aws_greengrassv2 as greengrass
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from anonflow.contract.errors import InputError
from anonflow.infra.suppressions import CDK_ROLE_DEPENDENCY as _CDK_ROLE_DEPENDENCY
from anonflow.infra.suppressions import accept_finding, accept_lint_warning

HANDLER: Final = "anonflow.edge.greengrass.lambda_handler.handler"

_NOT_IN_CLOUD = (
    "The function never runs in the cloud: it is the code package of a Greengrass Lambda component."
)


class EdgeLambdaComponent(Construct):
    """Lambda function (code from `code_path`), its published version, and the Lambda component version.

    The component runs pinned (one long-lived instance started with the nucleus, like the native
    component) without a container, so it can open cameras and the spool directory on the gateway; the
    cloud-side settings of the function (memory, timeout) do not apply on a gateway.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code_path: Path,
        component_name: str,
        component_version: str,
    ) -> None:
        super().__init__(scope, construct_id)
        if not code_path.exists():
            raise InputError(f"edge Lambda code {code_path} not found (build the edge Lambda package first)")
        # Lambda requires an execution role; on a gateway the function uses the token exchange role instead.
        role = iam.Role(
            self,
            "CloudRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Placeholder execution role with no permissions; the function runs on gateways only.",
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_11,
            handler=HANDLER,
            code=lambda_.Code.from_asset(str(code_path)),
            role=role,
            timeout=Duration.minutes(15),
            description="anonflow edge chain for Greengrass (pinned Lambda component).",
        )
        for check in ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"):
            accept_finding(self.function, check, _NOT_IN_CLOUD)
        accept_lint_warning(self.function, "W3005", _CDK_ROLE_DEPENDENCY)
        self.version = self.function.current_version
        self.component = greengrass.CfnComponentVersion(
            self,
            "Version",
            lambda_function=greengrass.CfnComponentVersion.LambdaFunctionRecipeSourceProperty(
                lambda_arn=self.version.function_arn,
                component_name=component_name,
                component_version=component_version,
                component_platforms=[
                    greengrass.CfnComponentVersion.ComponentPlatformProperty(
                        name="Linux", attributes={"os": "linux"}
                    )
                ],
                component_lambda_parameters=greengrass.CfnComponentVersion.LambdaExecutionParametersProperty(
                    pinned=True,
                    max_instances_count=1,
                    timeout_in_seconds=60,
                    status_timeout_in_seconds=60,
                    max_queue_size=1000,
                    input_payload_encoding_type="json",
                    linux_process_params=greengrass.CfnComponentVersion.LambdaLinuxProcessParamsProperty(
                        isolation_mode="NoContainer"
                    ),
                ),
            ),
        )
        self.component_name = component_name
        self.component_version = component_version
