"""The IoT policy every gateway certificate carries: connect as its own thing, publish as its own store.

The policy uses thing policy variables, so one policy serves the whole fleet and still scopes each
gateway: `${iot:Connection.Thing.ThingName}` is the thing the certificate is attached to (the client
id must equal it), `${iot:Connection.Thing.Attributes[store_id]}` is that thing's `store_id` attribute.
A gateway therefore can publish only to `anonflow/v1/<its store>/<camera>/entries` and to its own
health topic, whatever its configuration says.
"""

from __future__ import annotations

from typing import Any, Final

from aws_cdk import Aws

from anonflow.contract.topics import TOPIC_PREFIX

THING: Final = "${iot:Connection.Thing.ThingName}"
STORE: Final = "${iot:Connection.Thing.Attributes[store_id]}"


def _iot(resource: str) -> str:
    return f"arn:{Aws.PARTITION}:iot:{Aws.REGION}:{Aws.ACCOUNT_ID}:{resource}"


def gateway_policy_document(*, role_alias_name: str) -> dict[str, Any]:
    """The policy document; `role_alias_name` is the token exchange role alias the gateway may assume."""
    own_device_topics = f"$aws/things/{THING}/*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ConnectAsOwnThing",
                "Effect": "Allow",
                "Action": "iot:Connect",
                "Resource": _iot(f"client/{THING}"),
                "Condition": {"Bool": {"iot:Connection.Thing.IsAttached": "true"}},
            },
            {
                "Sid": "PublishOwnStoreEntriesAndOwnHealth",
                "Effect": "Allow",
                "Action": "iot:Publish",
                "Resource": [
                    _iot(f"topic/{TOPIC_PREFIX}/{STORE}/*/entries"),
                    _iot(f"topic/{TOPIC_PREFIX}/{STORE}/{THING}/health"),
                ],
            },
            {
                "Sid": "OwnDeviceTopics",
                "Effect": "Allow",
                "Action": ["iot:Publish", "iot:Receive"],
                "Resource": _iot(f"topic/{own_device_topics}"),
            },
            {
                "Sid": "SubscribeOwnDeviceTopics",
                "Effect": "Allow",
                "Action": "iot:Subscribe",
                "Resource": _iot(f"topicfilter/{own_device_topics}"),
            },
            {
                "Sid": "OwnShadow",
                "Effect": "Allow",
                "Action": ["iot:GetThingShadow", "iot:UpdateThingShadow", "iot:DeleteThingShadow"],
                "Resource": _iot(f"thing/{THING}"),
            },
            {
                "Sid": "TokenExchange",
                "Effect": "Allow",
                "Action": "iot:AssumeRoleWithCertificate",
                "Resource": _iot(f"rolealias/{role_alias_name}"),
            },
            {
                "Sid": "GreengrassOwnDeployments",
                "Effect": "Allow",
                "Action": [
                    "greengrass:GetDeploymentConfiguration",
                    "greengrass:ListThingGroupsForCoreDevice",
                ],
                "Resource": _iot(f"thing/{THING}"),
            },
            {
                "Sid": "GreengrassComponentArtifacts",
                "Effect": "Allow",
                "Action": "greengrass:GetComponentVersionArtifact",
                # Public AWS components live in AWS's account, hence the account wildcard.
                "Resource": f"arn:{Aws.PARTITION}:greengrass:{Aws.REGION}:*:components:*:versions:*",
            },
            {
                "Sid": "GreengrassResolveComponents",
                "Effect": "Allow",
                # The action supports no resource-level scoping.
                "Action": "greengrass:ResolveComponentCandidates",
                "Resource": "*",
            },
        ],
    }
