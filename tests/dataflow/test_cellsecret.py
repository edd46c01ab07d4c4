"""The cell-key secret launcher against Secrets Manager on a moto server: a good secret reaches the started
command's environment (and the startup check accepts it); a missing, binary, empty or malformed secret is
one line and exit code 2, never a traceback, and the command is not started."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest

from anonflow.dataflow.cellsecret import main
from anonflow.dataflow.privacy import SECRET_ENV

REGION = "eu-central-1"
GOOD = "0123456789abcdef" * 4  # what the stack's generator makes: 64 lowercase hex characters


@pytest.fixture
def secrets(moto_endpoint: str, aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """The moto server's endpoint, set for every boto3 client (as the pod's SDK finds AWS)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.delenv(SECRET_ENV, raising=False)
    return moto_endpoint


def _put(endpoint: str, **value: object) -> str:
    name = f"anonflow-test/job/cell-key-{uuid.uuid4().hex[:8]}"
    client = boto3.client("secretsmanager", endpoint_url=endpoint, region_name=REGION)
    return str(client.create_secret(Name=name, **value)["ARN"])


def _run(secret_id: str, *command: str) -> subprocess.CompletedProcess[str]:
    launcher = [sys.executable, "-m", "anonflow.dataflow.cellsecret", f"--secret-id={secret_id}"]
    return subprocess.run(
        [*launcher, f"--region={REGION}", "--", *command],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_secret_reaches_the_command_and_nothing_else(secrets: str) -> None:
    arn = _put(secrets, SecretString=GOOD)
    shown = _run(arn, sys.executable, "-c", f"import os; print(os.environ['{SECRET_ENV}'])")
    assert (shown.returncode, shown.stdout.strip(), shown.stderr) == (0, GOOD, "")


def test_the_startup_check_accepts_the_launched_secret(secrets: str, tmp_path: Path) -> None:
    """The chain a job manager runs: launcher, then the check with --require_cell_key_secret."""
    arn = _put(secrets, SecretString=GOOD)
    entries = tmp_path / "entries"
    entries.mkdir()
    (entries / "part-0.ndjson").write_text('{"not": "read by the check"}\n')
    check = [sys.executable, "-m", "anonflow.dataflow.preflight", f"--input={entries}"]
    done = _run(arn, *check, f"--output={tmp_path / 'tables'}", "--require_cell_key_secret")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("secret set")
    # Positive control: the same check without the launcher refuses to start.
    alone = subprocess.run(
        [*check, f"--output={tmp_path / 'tables'}", "--require_cell_key_secret"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert alone.returncode == 2 and f"{SECRET_ENV} is not set" in alone.stderr


# (case, how the secret is stored or None for a missing one, the error after "<id> ")
BAD = [
    ("missing", None, "cannot be read: "),
    ("binary", {"SecretBinary": bytes.fromhex(GOOD)}, "holds binary data"),
    ("blank", {"SecretString": "   "}, "is empty"),
    ("not hex", {"SecretString": "z" * 64}, f"is not a usable cell-key secret: {SECRET_ENV} must be hex"),
    ("too short", {"SecretString": "ab" * 15}, "is not a usable cell-key secret: "),
    ("too long", {"SecretString": "ab" * 1025}, "is not a usable cell-key secret: "),
]


@pytest.mark.parametrize(("case", "stored", "error"), BAD, ids=[c[0] for c in BAD])
def test_a_bad_secret_is_one_line_and_nothing_starts(
    secrets: str,
    capsys: pytest.CaptureFixture[str],
    case: str,
    stored: dict[str, object] | None,
    error: str,
) -> None:
    """In process (real boto3 against moto): main returns 2 instead of raising, and starts nothing."""
    secret_id = _put(secrets, **stored) if stored is not None else "anonflow-test/job/absent"
    started: list[str] = []
    argv = [f"--secret-id={secret_id}", f"--region={REGION}", "--", "worker"]
    code = main(argv, execute=lambda program, *_: started.append(program))
    assert (code, started) == (2, []), case
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"anonflow cell-key secret: error: {secret_id} {error}"), line
    value = str((stored or {}).get("SecretString", "")).strip()
    assert not value or value[:8] not in line  # the value is never shown


def _code(argv: list[str]) -> int | str | None:
    try:
        return main(argv, reader=lambda *_: GOOD, execute=lambda *_: None)
    except SystemExit as stop:  # argparse's way out
        return stop.code


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--secret-id=x", "--"], "no command given after --"),
        (["--", "true"], "the following arguments are required: --secret-id"),
    ],
)
def test_usage_mistakes_are_one_line(argv: list[str], error: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _code(argv) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == f"anonflow cell-key secret: error: {error}"


def test_the_command_gets_the_checked_value() -> None:
    started: list[tuple[str, list[str], str]] = []
    code = main(
        ["--secret-id=x", "--", "worker", "--worker_pool"],
        reader=lambda *_: f"  {GOOD}\n",
        execute=lambda program, argv, env: started.append((program, argv, env[SECRET_ENV])),
    )
    assert (code, started) == (0, [("worker", ["worker", "--worker_pool"], GOOD)])
