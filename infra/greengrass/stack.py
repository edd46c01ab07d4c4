"""EdgeStack: the gateway software registered in Greengrass and deployed to the fleet's thing group."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from anonflow.infra.config import EnvironmentConfig, GreengrassConfig
from anonflow.infra.data import layout
from anonflow.infra.data.stack import DataStack
from anonflow.infra.greengrass.deployment import (
    FleetLogsDeployment,
    GatewayDeployment,
    GroupDeployment,
    disk_spooler_components,
    gateway_configuration,
    group_configuration,
    secret_manager_component,
)
from anonflow.infra.greengrass.edge_lambda import EdgeLambdaComponent
from anonflow.infra.greengrass.gateway_component import GatewayComponent
from anonflow.infra.greengrass.recipe import check_configuration
from anonflow.infra.iot.stack import FleetStack
from anonflow.infra.suppressions import CDK_ROLE_DEPENDENCY, accept_finding, accept_lint_warning

_HELPER_REASON = "CDK's deploy-time helper that copies component artifacts to S3; never serves traffic."


class EdgeStack(Stack):
    """Native component version (artifacts in S3), optional edge Lambda component, and the deployment:
    one to the thing group carrying every gateway's store and cameras (and the optional log manager), or
    one per gateway (its own store and cameras) plus the optional log manager on the thing group."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        data: DataStack,
        fleet: FleetStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        settings = config.greengrass
        component = GatewayComponent(
            self,
            "Gateway",
            recipe_path=config.resolve(settings.recipe_path),
            component_version=settings.component_version,
            artifacts_dir=config.resolve(settings.artifacts_dir),
            bucket=data.artifacts_bucket,
            key_prefix=layout.GREENGRASS_ARTIFACTS_PREFIX,
        )
        check_configuration(component.rendered, settings.configuration, source=f"environment {config.name}")
        deployed_name, deployed_version = component.component_name, component.component_version
        CfnOutput(self, "ComponentName", value=component.component_name)

        self.edge_lambda: EdgeLambdaComponent | None = None
        if settings.lambda_code_path is not None:
            self.edge_lambda = edge_lambda = EdgeLambdaComponent(
                self,
                "EdgeLambda",
                code_path=config.resolve(settings.lambda_code_path),
                component_name=settings.lambda_component_name,
                component_version=component.component_version,  # both packagings share one version
            )
            CfnOutput(self, "LambdaComponentName", value=edge_lambda.component_name)
            if settings.packaging == "lambda":
                deployed_name, deployed_version = edge_lambda.component_name, edge_lambda.component_version

        # Each store's appearance secret (FleetStack), when the environment deploys the secret manager.
        secret_arns = fleet.store_secrets.arns if fleet.store_secrets is not None else {}
        self.deployments: list[GroupDeployment | GatewayDeployment] = []
        if settings.deployment_target == "group":
            self.deployments.append(
                GroupDeployment(
                    self,
                    "DeployFleet",
                    name=f"{config.prefix}-gateways",
                    thing_group_arn=fleet.fleet.group_arn,
                    component_name=deployed_name,
                    component_version=deployed_version,
                    configuration=group_configuration(
                        settings.configuration,
                        stores=config.stores,
                        component_name=deployed_name,
                        secret_arns=secret_arns,
                    ),
                    log_manager_version=settings.log_manager_version,
                    platform=_platform(settings, list(secret_arns.values())),
                )
            )
        else:
            self._deploy_per_gateway(config, deployed_name, deployed_version, secret_arns)
            if settings.log_manager_version is not None:
                FleetLogsDeployment(
                    self,
                    "FleetLogs",
                    name=f"{config.prefix}-fleet-logs",
                    thing_group_arn=fleet.fleet.group_arn,
                    log_manager_version=settings.log_manager_version,
                    component_names=[deployed_name],
                )
        self.add_stack_dependency(fleet)
        self._accept_helper_findings()

    def _deploy_per_gateway(
        self, config: EnvironmentConfig, component_name: str, version: str, secret_arns: dict[str, str]
    ) -> None:
        for store in config.stores:
            own_secret = [secret_arns[store.store_id]] if store.store_id in secret_arns else []
            for gateway in store.gateways:
                self.deployments.append(
                    GatewayDeployment(
                        self,
                        f"Deploy-{gateway.thing_name}",
                        name=f"{config.prefix}-{gateway.thing_name}",
                        thing_name=gateway.thing_name,
                        component_name=component_name,
                        component_version=version,
                        configuration=gateway_configuration(
                            config.greengrass.configuration,
                            store=store,
                            gateway=gateway,
                            component_name=component_name,
                            secret_arns=secret_arns,
                        ),
                        platform=_platform(config.greengrass, own_secret),
                    )
                )

    def _accept_helper_findings(self) -> None:
        for node in self.node.find_all():
            if isinstance(node, lambda_.CfnFunction) and "CDKBucketDeployment" in node.node.path:
                for check in ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"):
                    accept_finding(node, check, _HELPER_REASON)
                accept_lint_warning(node, "W3005", CDK_ROLE_DEPENDENCY)


def _platform(settings: GreengrassConfig, secret_arns: list[str]) -> dict[str, Any]:
    """AWS components deployed beside the gateway: the disk spooler, and the secret manager holding the
    deployment's store secrets."""
    components: dict[str, Any] = {}
    if settings.nucleus_version is not None and settings.disk_spooler_version is not None:
        components.update(
            disk_spooler_components(
                nucleus_version=settings.nucleus_version,
                disk_spooler_version=settings.disk_spooler_version,
                max_bytes=settings.spooler_max_bytes,
            )
        )
    if settings.secret_manager_version is not None and secret_arns:
        components.update(secret_manager_component(settings.secret_manager_version, secret_arns))
    return components
