"""The fleet's registry: a thing group for all gateways, one thing per gateway with its store attribute."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws
from aws_cdk import aws_iot as iot
from constructs import Construct

from anonflow.infra.config import StoreConfig
from anonflow.infra.iot.gateway_policy import gateway_policy_document


class GatewayFleet(Construct):
    """Thing group, gateway things (attribute `store_id`), and the gateway IoT policy.

    The store attribute decides which topics a gateway may publish to, so it is declared here, reviewed
    with the rest of the infrastructure, rather than set by hand. Certificates and group membership are
    added when a gateway is provisioned (see infra/README.md).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        group_name: str,
        policy_name: str,
        role_alias_name: str,
        stores: Sequence[StoreConfig],
    ) -> None:
        super().__init__(scope, construct_id)
        self.group = iot.CfnThingGroup(
            self,
            "Group",
            thing_group_name=group_name,
            thing_group_properties=iot.CfnThingGroup.ThingGroupPropertiesProperty(
                thing_group_description="anonflow store gateways (Greengrass core devices)."
            ),
        )
        self.group_name = group_name
        self.group_arn = f"arn:{Aws.PARTITION}:iot:{Aws.REGION}:{Aws.ACCOUNT_ID}:thinggroup/{group_name}"
        self.things: dict[str, iot.CfnThing] = {}
        for store in stores:
            for gateway in store.gateways:
                self.things[gateway.thing_name] = iot.CfnThing(
                    self,
                    f"Thing-{gateway.thing_name}",
                    thing_name=gateway.thing_name,
                    attribute_payload=iot.CfnThing.AttributePayloadProperty(
                        attributes={"store_id": store.store_id}
                    ),
                )
        self.policy = iot.CfnPolicy(
            self,
            "Policy",
            policy_name=policy_name,
            policy_document=gateway_policy_document(role_alias_name=role_alias_name),
        )
        self.policy_name = policy_name
