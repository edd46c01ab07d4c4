"""Greengrass deployments: the gateway software, configured for each gateway, on that gateway."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Aws
from aws_cdk import aws_greengrassv2 as greengrass
from constructs import Construct

from infra.config import GatewaySpec

# The component configuration key the gateway reads its settings from (edge.greengrass.settings).
GATEWAY_KEY = "gateway"


def gateway_configuration(common: dict[str, Any], *, store_id: str, gateway: GatewaySpec) -> dict[str, Any]:
    """The configuration merged into one gateway's component: the environment's common settings, with
    this gateway's store, id (its thing name, which the IoT policy also binds it to) and cameras."""
    settings = dict(common.get(GATEWAY_KEY, {}))
    settings.update(store_id=store_id, gateway_id=gateway.thing_name, cameras=gateway.cameras)
    return {**common, GATEWAY_KEY: settings}


class GatewayDeployment(Construct):
    """Deploys one component version to one gateway (its thing), rolling back if it fails to start.

    The target is the gateway's thing rather than the fleet's thing group because the configuration is
    per gateway: its store and its cameras. Greengrass keeps one configuration per component on a
    device, so a group-wide deployment would give every gateway the same cameras.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        thing_name: str,
        component_name: str,
        component_version: str,
        configuration: dict[str, Any],
    ) -> None:
        super().__init__(scope, construct_id)
        self.target_arn = f"arn:{Aws.PARTITION}:iot:{Aws.REGION}:{Aws.ACCOUNT_ID}:thing/{thing_name}"
        self.deployment = greengrass.CfnDeployment(
            self,
            "Deployment",
            deployment_name=name,
            target_arn=self.target_arn,
            components={
                component_name: {
                    "componentVersion": component_version,
                    "configurationUpdate": {"merge": json.dumps(configuration, sort_keys=True)},
                }
            },
            deployment_policies=greengrass.CfnDeployment.DeploymentPoliciesProperty(
                failure_handling_policy="ROLLBACK",
                component_update_policy=greengrass.CfnDeployment.DeploymentComponentUpdatePolicyProperty(
                    action="NOTIFY_COMPONENTS", timeout_in_seconds=120
                ),
                configuration_validation_policy=greengrass.CfnDeployment.DeploymentConfigurationValidationPolicyProperty(
                    timeout_in_seconds=60
                ),
            ),
        )


class FleetLogsDeployment(Construct):
    """Deploys AWS's log manager to the whole thing group, shipping the gateway component's logs (and the
    nucleus's) to CloudWatch Logs under /aws/greengrass/, which the token exchange role allows.

    It holds only fleet-wide components, so it never competes with the per-gateway deployments.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        thing_group_arn: str,
        log_manager_version: str,
        component_names: list[str],
    ) -> None:
        super().__init__(scope, construct_id)
        configuration = {
            "logsUploaderConfiguration": {
                "systemLogsConfiguration": {"uploadToCloudWatch": "true", "minimumLogLevel": "INFO"},
                "componentLogsConfigurationMap": {n: {"minimumLogLevel": "INFO"} for n in component_names},
            },
            "periodicUploadIntervalSec": 300,
        }
        self.deployment = greengrass.CfnDeployment(
            self,
            "Deployment",
            deployment_name=name,
            target_arn=thing_group_arn,
            components={
                "aws.greengrass.LogManager": {
                    "componentVersion": log_manager_version,
                    "configurationUpdate": {"merge": json.dumps(configuration, sort_keys=True)},
                }
            },
            deployment_policies=greengrass.CfnDeployment.DeploymentPoliciesProperty(
                failure_handling_policy="ROLLBACK"
            ),
        )
