"""The pinned CDK CLI (infra/package.json) reads the assembly the Python API synthesises."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from anonflow.infra.config import REPO_ROOT
from tests.kit.cdk import PARTS, Assembly

INFRA = REPO_ROOT / "infra"
CDK = INFRA / "node_modules" / ".bin" / "cdk"


def test_cli_is_pinned_to_a_2x_release_that_reads_current_assemblies() -> None:
    pinned = json.loads((INFRA / "package.json").read_text())["devDependencies"]["aws-cdk"]
    locked = json.loads((INFRA / "package-lock.json").read_text())["packages"]["node_modules/aws-cdk"][
        "version"
    ]
    assert pinned == locked
    major, minor, _ = (int(part) for part in locked.split("."))
    assert (major, minor) >= (2, 1148) and major == 2


@pytest.mark.skipif(
    not CDK.is_file() or shutil.which("node") is None, reason="run infra/tools/install-tools.sh"
)
def test_cli_lists_every_stack_of_the_assembly(assembly: Assembly) -> None:
    result = subprocess.run(
        [str(CDK), "ls", "--app", str(assembly.directory), "--no-notices", "--no-version-reporting"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=INFRA,
        env={**os.environ, "CDK_DISABLE_CLI_TELEMETRY": "true"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split()) == sorted(f"Anonflow{part}-test" for part in PARTS)
