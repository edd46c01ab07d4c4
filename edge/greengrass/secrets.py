"""The store's appearance secret from AWS Secrets Manager, through the nucleus's secret manager component.

The infrastructure keeps one secret per store (infra/greengrass/appearance_secrets.py) and deploys
aws.greengrass.SecretManager with it; the component reads it over IPC (`GetSecretValue`) at every start
and holds it in memory only: it is never written to the gateway's disk by anonflow, logged, or sent.
"""

from __future__ import annotations

from typing import Any, Protocol

from anonflow.contract.errors import InputError
from anonflow.edge.appearance import MIN_SECRET_BYTES


class SecretsClient(Protocol):
    """The part of `GreengrassCoreIPCClientV2` that reads a secret the secret manager component holds."""

    def get_secret_value(self, *, secret_id: str) -> Any: ...


def appearance_secret(ipc: SecretsClient, secret_arn: str) -> bytes:
    """The secret's bytes (surrounding whitespace stripped); InputError naming the ARN, never the value."""
    try:
        response = ipc.get_secret_value(secret_id=secret_arn)
    except Exception as error:
        # The IPC client raises its own error types (unauthorised, not found, service error): any of
        # them means the same to the operator, and the message must never carry the secret.
        raise InputError(
            f"appearance secret {secret_arn}: GetSecretValue failed ({type(error).__name__}); check that "
            "aws.greengrass.SecretManager is deployed with this secret and the component may read it"
        ) from None
    value = getattr(getattr(response, "secret_value", None), "secret_string", None)
    if not isinstance(value, str):
        raise InputError(f"appearance secret {secret_arn}: not a text secret")
    secret = value.strip().encode()
    if len(secret) < MIN_SECRET_BYTES:
        raise InputError(
            f"appearance secret {secret_arn}: must be at least {MIN_SECRET_BYTES} bytes, got {len(secret)}"
        )
    return secret
