"""The store's appearance secret from Greengrass's secret manager component, read over IPC.

The infrastructure keeps one secret per store in AWS Secrets Manager and deploys it to the store's
gateways with `aws.greengrass.SecretManager`, which holds it on the device encrypted with the device's
private key. The gateway reads the value over IPC when it starts and keeps it in memory only.
"""

from __future__ import annotations

from typing import Any, Protocol

from anonflow.contract.errors import InputError
from anonflow.edge.runtime.config import SecretReader


class SecretClient(Protocol):
    """The part of `GreengrassCoreIPCClientV2` that reads a secret the secret manager component holds."""

    def get_secret_value(self, *, secret_id: str) -> Any: ...


def nucleus_secrets(ipc: SecretClient) -> SecretReader:
    """A reader of secrets by ARN through the nucleus; every failure is one InputError naming the ARN."""

    def read(arn: str) -> bytes:
        from awsiot.greengrasscoreipc.model import (
            ResourceNotFoundError,
            ServiceError,
            UnauthorizedError,
        )

        try:
            response = ipc.get_secret_value(secret_id=arn)
        except UnauthorizedError:
            raise InputError(
                f"appearance.secret_arn {arn}: this component may not read it; the recipe's accessControl "
                "must allow aws.greengrass#GetSecretValue through aws.greengrass.SecretManager"
            ) from None
        except ResourceNotFoundError:
            raise InputError(
                f"appearance.secret_arn {arn}: the secret manager component does not hold it; deploy "
                "aws.greengrass.SecretManager with this ARN in its cloudSecrets"
            ) from None
        except ServiceError as error:
            raise InputError(f"appearance.secret_arn {arn}: the secret manager failed: {error}") from None
        value = getattr(response, "secret_value", None)
        text = getattr(value, "secret_string", None)
        if text is not None:
            return str(text).encode("utf-8")
        binary = getattr(value, "secret_binary", None)
        if binary is not None:
            return bytes(binary)
        raise InputError(f"appearance.secret_arn {arn}: the secret has no value")

    return read
