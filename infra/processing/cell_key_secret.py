"""The job's cell-key secret in AWS Secrets Manager, one per environment.

The k-anonymous release perturbs every published count by a key derived from this secret
(dataflow/cellkey.py); the same secret on every run is what makes a re-run or a later pane publish the
same numbers, so that they cannot be averaged. Secrets Manager generates it at deploy time (it never
appears in a template, an output or a Kubernetes object) as 64 lowercase hex characters, 32 bytes, which
is what the job reads from ANONFLOW_CELL_KEY_SECRET. It is encrypted with the data key and retained when
the stack is deleted: a new secret changes every published perturbation (infra/README.md, "The job's
cell-key secret"). Only the roles that run the job may read it.
"""

from __future__ import annotations

import string
from typing import Final

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from anonflow.infra.suppressions import accept_finding

# The job's variable (dataflow/privacy.py's SECRET_ENV; infra does not import dataflow, a test pins both).
JOB_ENV: Final = "ANONFLOW_CELL_KEY_SECRET"
HEX_CHARACTERS: Final = 64  # 32 bytes; the job accepts 16 to 1024
# Secrets Manager draws from letters and digits; leaving out upper case and g-z leaves hex digits.
_NOT_HEX: Final = "".join(c for c in string.ascii_lowercase if c not in string.hexdigits)
_NO_ROTATION: Final = (
    "Rotating the cell-key secret changes every perturbation the job publishes, so a re-released day could "
    "be averaged against its earlier release; replacing it is an operator's decision (infra/README.md)."
)


def generator() -> secretsmanager.SecretStringGenerator:
    """How Secrets Manager makes the value: 64 characters of 0-9a-f, each drawn uniformly."""
    return secretsmanager.SecretStringGenerator(
        password_length=HEX_CHARACTERS,
        exclude_uppercase=True,
        exclude_punctuation=True,
        exclude_characters=_NOT_HEX,
        include_space=False,
        require_each_included_type=False,
    )


class CellKeySecret(Construct):
    """`secret`: the environment's cell-key secret (`<prefix>/job/cell-key`); `reference`: the same secret
    without its key, for constructs that grant reading it themselves (ECS); `grant_read`: the grant.

    The key lives in the data stack. The Secret construct's own grant would name the reader's role in the
    data key's policy, a reference from the data stack back to this one (a cycle); the data key trusts
    the account's IAM policies, so the grant is made on the reader's side only.
    """

    def __init__(self, scope: Construct, construct_id: str, *, prefix: str, encryption_key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.key = encryption_key
        self.name = f"{prefix}/job/cell-key"
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            secret_name=self.name,
            description="Cell-key secret of the anonflow job: keys the perturbation of published counts.",
            encryption_key=encryption_key,
            generate_secret_string=generator(),
            removal_policy=RemovalPolicy.RETAIN,
        )
        accept_finding(self.secret, "CKV2_AWS_57", _NO_ROTATION)
        self.reference = secretsmanager.Secret.from_secret_complete_arn(
            self, "Reference", self.secret.secret_arn
        )

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """Read the value: the secret's read actions on this secret, and the data key's decryption only
        through Secrets Manager (not on S3 objects or Kinesis records by itself)."""
        self.reference.grant_read(grantee)
        self.grant_decrypt(grantee)

    def grant_decrypt(self, grantee: iam.IGrantable) -> None:
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[self.key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{Aws.REGION}.amazonaws.com"}},
            )
        )
