"""The token exchange role: the only AWS credentials a gateway can obtain, and what they allow."""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_iot as iot
from aws_cdk import aws_s3 as s3
from constructs import Construct

# Set by the IoT credentials provider from the certificate's thing: each gateway writes under its own name.
CREDENTIALS_THING = "${credentials-iot:ThingName}"
GREENGRASS_LOG_GROUPS = "/aws/greengrass/"


class TokenExchangeRole(Construct):
    """Role (and role alias) the Greengrass token exchange service assumes for components.

    Allowed: read the component artifacts, write audit crops under `<thing name>/`, ship Greengrass logs.
    Nothing else: the entries themselves travel over MQTT under the IoT policy, not with these credentials.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role_alias_name: str,
        artifacts_bucket: s3.IBucket,
        artifacts_prefix: str,
        audit_bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("credentials.iot.amazonaws.com"),
            description="Greengrass token exchange role of anonflow gateways.",
        )
        artifacts_bucket.grant_read(self.role, f"{artifacts_prefix}*")
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:GetBucketLocation"], resources=[artifacts_bucket.bucket_arn])
        )
        audit_bucket.grant_put(self.role, f"{CREDENTIALS_THING}/*")
        log_groups = (
            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:{GREENGRASS_LOG_GROUPS}"
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                resources=[f"{log_groups}*"],
            )
        )
        self.alias = iot.CfnRoleAlias(
            self,
            "Alias",
            role_alias=role_alias_name,
            role_arn=self.role.role_arn,
            credential_duration_seconds=3600,
        )
        self.alias_name = role_alias_name
