"""One appearance secret per store in AWS Secrets Manager, readable by the store's gateways only through
the Greengrass secret manager component.

The secret keys the store's appearance groups per store-local day (edge.appearance): the same on every
gateway of a store, different between stores. Secrets Manager generates it, so its value appears in no
template, deployment or log; the token exchange role may read these secrets and nothing else of Secrets
Manager, and only the gateway component may ask the secret manager component for them. It is kept when
the stack is deleted (a new secret would change every group) and not rotated: the store-local date already
changes the key every day, and a rotation would split a day's groups between gateways that fetched the
secret before and after it.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from anonflow.infra.config import StoreConfig

SECRET_MANAGER = "aws.greengrass.SecretManager"
GET_SECRET_VALUE = "aws.greengrass#GetSecretValue"


class AppearanceSecrets(Construct):
    """The stores' secrets (store id -> secret in `secrets`, its ARN in `arns`) and the token exchange
    role's read access."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        stores: Sequence[StoreConfig],
        token_exchange_role: iam.IRole,
    ) -> None:
        super().__init__(scope, construct_id)
        self.arns: dict[str, str] = {}
        self.secrets: dict[str, secretsmanager.Secret] = {}
        for store in stores:
            secret = secretsmanager.Secret(
                self,
                f"Store-{store.store_id}",
                secret_name=f"{prefix}/appearance/{store.store_id}",
                description=f"Appearance-group key of store {store.store_id} (anonflow gateways).",
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    password_length=64, exclude_punctuation=True
                ),
                removal_policy=RemovalPolicy.RETAIN,
            )
            self.secrets[store.store_id] = secret
            self.arns[store.store_id] = secret.secret_arn
        if self.arns:
            iam.Policy(
                self,
                "Read",
                roles=[token_exchange_role],
                statements=[
                    iam.PolicyStatement(
                        actions=["secretsmanager:GetSecretValue"], resources=list(self.arns.values())
                    )
                ],
            )
