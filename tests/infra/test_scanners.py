"""cfn-lint and checkov over every synthesised template: no findings except those accepted in code.

Accepted findings live on their resource (`infra.suppressions`): checkov skips carry their reason,
cfn-lint warnings are ignored per resource. Open-source checkov reports no severities, so the bar
here is stricter than "no high or critical": no failed check at all.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_file  # type: ignore[import-untyped]

from anonflow.infra.config import REPO_ROOT
from tests.kit.cdk import PARTS, Assembly

CHECKOV = Path(os.environ.get("ANONFLOW_CHECKOV", REPO_ROOT / ".venv-tools" / "bin" / "checkov"))


@pytest.mark.parametrize("part", PARTS)
def test_cfn_lint_is_clean(assembly: Assembly, part: str) -> None:
    matches = lint_file(assembly.template_path(part), ManualArgs(regions=[assembly.config.region]))
    assert [f"{m.rule.id} {m.message} ({m.path_string})" for m in matches] == []


@pytest.fixture(scope="module")
def checkov_report(assembly: Assembly) -> list[dict[str, object]]:
    if not CHECKOV.is_file():
        pytest.fail(
            f"checkov not found at {CHECKOV}: run infra/tools/install-tools.sh (or set ANONFLOW_CHECKOV)"
        )
    files = [str(assembly.template_path(part)) for part in PARTS]
    command = [
        str(CHECKOV),
        "--framework",
        "cloudformation",
        "--output",
        "json",
        "--skip-download",
        "--compact",
    ]
    for file in files:
        command += ["--file", file]
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    if result.returncode not in (0, 1):  # 1 means "failed checks", reported below
        pytest.fail(f"checkov exited {result.returncode}: {result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    return report if isinstance(report, list) else [report]


def test_checkov_has_no_failed_checks(checkov_report: list[dict[str, object]]) -> None:
    (report,) = checkov_report
    results = report["results"]
    assert isinstance(results, dict)
    failed = [
        f"{c['check_id']} {c['resource']} {c['file_path']}: {c['check_name']}"
        for c in results["failed_checks"]
    ]
    assert failed == []
    assert len(results["passed_checks"]) > 100  # the scanner really ran over the resources


def test_every_accepted_checkov_finding_has_a_reason(checkov_report: list[dict[str, object]]) -> None:
    (report,) = checkov_report
    results = report["results"]
    assert isinstance(results, dict)
    skipped = results["skipped_checks"]
    assert skipped, "expected the documented acceptances (access-log bucket, audit bucket, edge Lambda, ...)"
    reasons = {(c["check_id"], c["resource"]): c["check_result"]["suppress_comment"] for c in skipped}
    assert all(len(reason.strip()) > 20 for reason in reasons.values()), reasons
