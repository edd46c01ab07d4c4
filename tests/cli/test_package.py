"""The package as users get it: `python -m build` makes a wheel and an sdist that install alone in a fresh
virtualenv and run `anonflow --help`. Offline: the build runs without isolation (setuptools and build come
from the dev extra) and the fresh install takes its three dependencies from uv's local cache."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).with_name("uv")
_NOT_SOURCE = (
    ".venv",
    ".venv-tools",
    ".git",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "__pycache__",
    "*.egg-info",
    "build",
    "dist",
    "demo-out",
    "node_modules",
    "cdk.out",
)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("src") / "anonflow"
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(*_NOT_SOURCE))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return out


def test_sdist_and_wheel_carry_the_licence_the_manifest_and_no_tests(dist: Path) -> None:
    (sdist,) = dist.glob("anonflow-*.tar.gz")
    (wheel,) = dist.glob("anonflow-*.whl")
    with tarfile.open(sdist) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    assert {"LICENSE", "README.md", "pyproject.toml", "anonflow/edge/modelfiles/manifest.toml"} <= names
    with zipfile.ZipFile(wheel) as archive:
        files = set(archive.namelist())
        metadata = archive.read(next(n for n in files if n.endswith(".dist-info/METADATA"))).decode()
    assert "anonflow/edge/modelfiles/manifest.toml" in files
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in files)
    assert not any(n.startswith(("tests/", "bench/")) for n in files)
    assert "License-Expression: Apache-2.0" in metadata
    assert "Description-Content-Type: text/markdown" in metadata and "make demo" in metadata


@pytest.mark.parametrize("kind", ["whl", "tar.gz"])
def test_it_installs_alone_and_runs(dist: Path, tmp_path: Path, kind: str) -> None:
    (package,) = dist.glob(f"anonflow-*.{kind}")
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    install = [str(UV), "pip", "install", "--quiet", "--offline", "--python", str(venv / "bin" / "python")]
    if kind == "tar.gz":  # building the sdist needs setuptools: the fresh venv takes it from the cache too
        install += ["--no-build-isolation", "setuptools>=77"]
    subprocess.run([*install, str(package)], check=True, capture_output=True, timeout=600)

    run = subprocess.run(
        [str(venv / "bin" / "anonflow"), "--help"], check=False, capture_output=True, text=True, timeout=120
    )

    assert run.returncode == 0, run.stderr
    for command in ("demo", "models", "pipeline"):
        assert command in run.stdout
    # The base install has no Beam: the job's help says which extra to install, in one line.
    job = subprocess.run(
        [str(venv / "bin" / "anonflow"), "pipeline", "--help"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert job.returncode == 2 and len(job.stderr.strip().splitlines()) == 1
    assert "anonflow[dataflow]" in job.stderr
