"""Greengrass deployments of the gateway software: one to the fleet's thing group (default), or one per
gateway (`greengrass.deployment_target`).

A core device keeps one configuration per component, so gateways that share a deployment share its
configuration. The thing group deployment therefore carries every gateway's own settings in a map,
`gateways` (thing name -> store, gateway id, cameras), beside the settings they all share under
`gateway`; each gateway picks its own entry by its thing name (edge.greengrass.settings). A deployment
per gateway carries only that gateway's settings, under `gateway`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Aws
from aws_cdk import aws_greengrassv2 as greengrass
from constructs import Construct

from anonflow.infra.config import GatewaySpec, StoreConfig

# The component configuration keys the gateway reads its settings from (edge.greengrass.settings).
GATEWAY_KEY = "gateway"
GATEWAYS_KEY = "gateways"
# Reset before every merge (Greengrass resets, then merges): the device ends up with exactly what was
# deployed, with no gateway left in the map after it was removed and no map left over after switching to
# deployments per gateway, where it would override the deployed `gateway`.
SECRET_MANAGER = "aws.greengrass.SecretManager"
ACCESS_CONTROL_KEY = "accessControl"
RESET_PATHS = [f"/{GATEWAY_KEY}", f"/{GATEWAYS_KEY}", f"/{ACCESS_CONTROL_KEY}/{SECRET_MANAGER}"]
LOG_MANAGER = "aws.greengrass.LogManager"
NUCLEUS = "aws.greengrass.Nucleus"
DISK_SPOOLER = "aws.greengrass.DiskSpooler"


def _own_settings(store: StoreConfig, gateway: GatewaySpec, secret_arns: Mapping[str, str]) -> dict[str, Any]:
    # The gateway id is the thing name, which the IoT policy binds its health topic to. The store's time
    # zone cuts the days the appearance groups are keyed by; the store's secret is named by its ARN (read
    # over IPC from the secret manager component), and the secret itself never enters a deployment.
    appearance: dict[str, Any] = {"time_zone": store.time_zone}
    if store.store_id in secret_arns:
        appearance["secret_arn"] = secret_arns[store.store_id]
    return {
        "store_id": store.store_id,
        "gateway_id": gateway.thing_name,
        "cameras": gateway.cameras,
        "appearance": appearance,
    }


def _secret_access(component_name: str, arns: Sequence[str]) -> dict[str, Any]:
    """The gateway component may read exactly these secrets from the secret manager component."""
    policy = {
        "policyDescription": "Read this store's appearance secret, nothing else.",
        "operations": ["aws.greengrass#GetSecretValue"],
        "resources": sorted(arns),
    }
    return {ACCESS_CONTROL_KEY: {SECRET_MANAGER: {f"{component_name}:secrets:1": policy}}}


def gateway_configuration(
    common: dict[str, Any],
    *,
    store: StoreConfig,
    gateway: GatewaySpec,
    component_name: str,
    secret_arns: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The configuration merged into one gateway's component: the environment's common settings, with
    this gateway's store, id, cameras, time zone and secret ARN under `gateway` (and the right to read
    that one secret)."""
    arns = secret_arns or {}
    shared = common.get(GATEWAY_KEY, {})
    own = _own_settings(store, gateway, arns)
    own["appearance"] = {**shared.get("appearance", {}), **own["appearance"]}
    settings = {**shared, **own}
    access = _secret_access(component_name, [arns[store.store_id]]) if store.store_id in arns else {}
    return {**common, GATEWAY_KEY: settings, **access}


def group_configuration(
    common: dict[str, Any],
    *,
    stores: Sequence[StoreConfig],
    component_name: str,
    secret_arns: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The configuration merged into the component on every gateway of the thing group: the common
    settings (shared `gateway` object included) and, under `gateways`, each gateway's own settings.
    A device keeps one configuration per component, so every gateway of the group may read every store's
    secret (what deployments per gateway avoid)."""
    arns = secret_arns or {}
    gateways = {g.thing_name: _own_settings(s, g, arns) for s in stores for g in s.gateways}
    access = _secret_access(component_name, list(arns.values())) if arns else {}
    return {**common, GATEWAY_KEY: dict(common.get(GATEWAY_KEY, {})), GATEWAYS_KEY: gateways, **access}


def secret_manager_component(version: str, arns: Sequence[str]) -> dict[str, Any]:
    """Greengrass's secret manager with exactly these secrets: it fetches them with the token exchange
    role and keeps them on the device encrypted with the device's private key."""
    configuration = {"cloudSecrets": [{"arn": arn} for arn in sorted(arns)]}
    return {
        SECRET_MANAGER: {
            "componentVersion": version,
            "configurationUpdate": {"merge": json.dumps(configuration, sort_keys=True)},
        }
    }


def _gateway_component(version: str, configuration: dict[str, Any]) -> dict[str, Any]:
    return {
        "componentVersion": version,
        "configurationUpdate": {"merge": json.dumps(configuration, sort_keys=True), "reset": RESET_PATHS},
    }


def disk_spooler_components(
    *, nucleus_version: str, disk_spooler_version: str, max_bytes: int
) -> dict[str, Any]:
    """The nucleus's MQTT spooler on disk: PublishToIoTCore is acknowledged once the message is in the
    spooler, and the gateway then deletes it from its own spool, so the spooler must survive a power loss."""
    spooler = {"storageType": "Disk", "pluginName": DISK_SPOOLER, "maxSizeInBytes": max_bytes}
    return {
        NUCLEUS: {
            "componentVersion": nucleus_version,
            "configurationUpdate": {"merge": json.dumps({"mqtt": {"spooler": spooler}}, sort_keys=True)},
        },
        DISK_SPOOLER: {"componentVersion": disk_spooler_version},
    }


def _log_manager_component(version: str, component_names: list[str]) -> dict[str, Any]:
    configuration = {
        "logsUploaderConfiguration": {
            "systemLogsConfiguration": {"uploadToCloudWatch": "true", "minimumLogLevel": "INFO"},
            "componentLogsConfigurationMap": {n: {"minimumLogLevel": "INFO"} for n in component_names},
        },
        "periodicUploadIntervalSec": 300,
    }
    return {
        "componentVersion": version,
        "configurationUpdate": {"merge": json.dumps(configuration, sort_keys=True)},
    }


def _gateway_policies() -> greengrass.CfnDeployment.DeploymentPoliciesProperty:
    """Roll back a gateway whose component fails to start; give the running one time to finish a batch."""
    return greengrass.CfnDeployment.DeploymentPoliciesProperty(
        failure_handling_policy="ROLLBACK",
        component_update_policy=greengrass.CfnDeployment.DeploymentComponentUpdatePolicyProperty(
            action="NOTIFY_COMPONENTS", timeout_in_seconds=120
        ),
        configuration_validation_policy=greengrass.CfnDeployment.DeploymentConfigurationValidationPolicyProperty(
            timeout_in_seconds=60
        ),
    )


class GroupDeployment(Construct):
    """Deploys the component version to the whole thing group with every gateway's settings (and, if
    given, AWS's log manager: a thing group has one active deployment, so it must ride along).

    Every gateway of the group receives every gateway's store ids and camera sources.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        thing_group_arn: str,
        component_name: str,
        component_version: str,
        configuration: dict[str, Any],
        log_manager_version: str | None = None,
        platform: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.target_arn = thing_group_arn
        components = {component_name: _gateway_component(component_version, configuration)}
        components.update(platform or {})
        if log_manager_version is not None:
            components[LOG_MANAGER] = _log_manager_component(log_manager_version, [component_name])
        self.deployment = greengrass.CfnDeployment(
            self,
            "Deployment",
            deployment_name=name,
            target_arn=thing_group_arn,
            components=components,
            deployment_policies=_gateway_policies(),
        )


class GatewayDeployment(Construct):
    """Deploys the component version to one gateway (its thing) with that gateway's settings only, so
    no device holds another's camera sources; one deployment per gateway to create and watch."""

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
        platform: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.target_arn = f"arn:{Aws.PARTITION}:iot:{Aws.REGION}:{Aws.ACCOUNT_ID}:thing/{thing_name}"
        components = {component_name: _gateway_component(component_version, configuration)}
        components.update(platform or {})
        self.deployment = greengrass.CfnDeployment(
            self,
            "Deployment",
            deployment_name=name,
            target_arn=self.target_arn,
            components=components,
            deployment_policies=_gateway_policies(),
        )


class FleetLogsDeployment(Construct):
    """With deployments per gateway: AWS's log manager on the whole thing group, shipping the gateway
    component's logs (and the nucleus's) to CloudWatch Logs under /aws/greengrass/, which the token
    exchange role allows. It holds only fleet-wide components, so it never competes with the per-gateway
    deployments."""

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
        self.deployment = greengrass.CfnDeployment(
            self,
            "Deployment",
            deployment_name=name,
            target_arn=thing_group_arn,
            components={LOG_MANAGER: _log_manager_component(log_manager_version, component_names)},
            deployment_policies=greengrass.CfnDeployment.DeploymentPoliciesProperty(
                failure_handling_policy="ROLLBACK"
            ),
        )
