"""Start a command with the deployment's cell-key secret, read from AWS Secrets Manager, in its environment.

    python -m anonflow.dataflow.cellsecret --secret-id <arn or name> [--region <r>] -- <command> [args...]

The Flink option's containers (the startup check, the job manager's pipeline driver, the task managers'
worker pool) start through this: it reads the secret with the pod's own credentials (its service
account's IAM role), checks it the way the job reads `ANONFLOW_CELL_KEY_SECRET` (hex, 16 to 1024 bytes),
puts it in the environment and replaces itself with the command (exec), so the value exists only in the
processes' memory: not in the FlinkDeployment, a Kubernetes Secret or a file. A secret that is missing,
unreadable or malformed stops the container with one line and exit code 2 before anything starts (the
Flink operator then rolls the deployment back). The ECS option needs none of this: ECS puts the secret
into the task's environment itself.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Final, NoReturn

from anonflow.contract.errors import InputError
from anonflow.dataflow.privacy import SECRET_ENV, PrivacyConfig

PROG: Final = "anonflow cell-key secret"
SecretReader = Callable[[str, str | None], str]
"""(secret id, region) -> the secret's string; raises InputError (one line) when it cannot be read."""
Exec = Callable[[str, list[str], dict[str, str]], object]
"""(program, argv, environment): replaces the current process (os.execvpe)."""


def read_secret(secret_id: str, region: str | None) -> str:
    """The secret's current string from Secrets Manager (boto3: the pod's role, AWS_ENDPOINT_URL honoured)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client = boto3.client("secretsmanager", region_name=region)
        value = client.get_secret_value(SecretId=secret_id)
    except (BotoCoreError, ClientError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise InputError(f"{secret_id} cannot be read: {first}") from None
    text = value.get("SecretString")
    if not isinstance(text, str):
        raise InputError(f"{secret_id} holds binary data; the cell-key secret is a hex string")
    return text


def checked(secret_id: str, text: str) -> str:
    """The secret as the job will read it, or InputError naming what is wrong (never the value)."""
    value = text.strip()
    if not value:
        raise InputError(f"{secret_id} is empty")
    previous = os.environ.get(SECRET_ENV)
    os.environ[SECRET_ENV] = value
    try:
        PrivacyConfig.from_environment()  # the job's own rule, so the two cannot disagree
    except ValueError as error:
        raise InputError(f"{secret_id} is not a usable cell-key secret: {error}") from None
    finally:
        if previous is None:
            del os.environ[SECRET_ENV]
        else:
            os.environ[SECRET_ENV] = previous
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m anonflow.dataflow.cellsecret",
        description="Run a command with ANONFLOW_CELL_KEY_SECRET read from AWS Secrets Manager.",
    )
    parser.add_argument("--secret-id", required=True, help="ARN or name of the cell-key secret")
    parser.add_argument("--region", default=None, help="AWS region of the secret (default: the SDK's)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    reader: SecretReader = read_secret,
    execute: Exec = os.execvpe,
) -> int:
    """Exec the command with the secret in its environment; on any problem, one line and exit code 2."""
    args = _parser().parse_args(list(argv) if argv is not None else sys.argv[1:])
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        print(f"{PROG}: error: no command given after --", file=sys.stderr)
        return 2
    try:
        value = checked(args.secret_id, reader(args.secret_id, args.region))
    except InputError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    try:
        execute(command[0], command, {**os.environ, SECRET_ENV: value})
    except OSError as error:
        print(f"{PROG}: error: cannot start {command[0]}: {error.strerror or error}", file=sys.stderr)
        return 2
    return 0  # os.execvpe never returns; a test's stand-in does


if __name__ == "__main__":
    sys.exit(main())
