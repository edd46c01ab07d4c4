"""FleetStack: gateway identity (things, policy, token exchange) and the rules routing their messages."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from anonflow.infra.config import EnvironmentConfig
from anonflow.infra.data import layout
from anonflow.infra.data.stack import DataStack
from anonflow.infra.greengrass.store_secrets import StoreSecrets
from anonflow.infra.greengrass.token_exchange import TokenExchangeRole
from anonflow.infra.iot.entries_rule import EntriesRule
from anonflow.infra.iot.gateway_fleet import GatewayFleet
from anonflow.infra.iot.health_rule import HealthRule


class FleetStack(Stack):
    """Thing group and things, gateway IoT policy, token exchange role alias, the stores' appearance
    secrets (optional), entries and health rules."""

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
        self.token_exchange = TokenExchangeRole(
            self,
            "TokenExchange",
            role_alias_name=f"{config.prefix}-token-exchange",
            artifacts_bucket=data.artifacts_bucket,
            artifacts_prefix=layout.GREENGRASS_ARTIFACTS_PREFIX,
            audit_bucket=data.audit_bucket,
        )
        # The stores' appearance secrets, when the environment deploys Greengrass's secret manager.
        self.store_secrets = (
            StoreSecrets(
                self,
                "StoreSecrets",
                prefix=config.prefix,
                stores=config.stores,
                role=self.token_exchange.role,
            )
            if config.greengrass.secret_manager_version is not None
            else None
        )
        self.fleet = GatewayFleet(
            self,
            "Gateways",
            group_name=f"{config.prefix}-gateways",
            policy_name=f"{config.prefix}-gateway",
            role_alias_name=self.token_exchange.alias_name,
            stores=config.stores,
        )
        rule_prefix = config.prefix.replace("-", "_")  # rule names allow only [A-Za-z0-9_]
        self.entries_rule = EntriesRule(
            self,
            "EntriesRule",
            rule_name=f"{rule_prefix}_entries",
            stream=data.entry_stream,
            delivery_stream=data.raw_archive,
            error_bucket=data.raw_bucket,
        )
        self.health_rule = HealthRule(
            self,
            "HealthRule",
            rule_name=f"{rule_prefix}_health",
            environment=config.name,
            error_bucket=data.raw_bucket,
        )
        self.rule_names = (f"{rule_prefix}_entries", f"{rule_prefix}_health")
        CfnOutput(self, "ThingGroupName", value=self.fleet.group_name)
        CfnOutput(self, "GatewayPolicyName", value=self.fleet.policy_name)
        CfnOutput(self, "TokenExchangeRoleAlias", value=self.token_exchange.alias_name)
