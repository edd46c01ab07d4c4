"""Synthesise the test environment's stacks once per session; every infra test reads that assembly.

The CDK's Python API starts a node (jsii) process and synthesis takes seconds, so it happens once.
Templates are read from the cloud assembly on disk, which is exactly what `cdk deploy`, cfn-lint,
checkov and moto consume.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

# jsii prints a banner per call under node majors it considers end-of-life; the tests do not need it.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "16,18,20")

from anonflow.infra.app import build_app
from anonflow.infra.config import EnvironmentConfig, load_environment
from tests.kit.cdk import Assembly

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def environment(tmp_path_factory: pytest.TempPathFactory) -> EnvironmentConfig:
    """The test environment, with a directory holding a file for each artifact the edge's recipe names
    (the real ones are built by edge/greengrass/build.py; synthesis only uploads them)."""
    config = load_environment(FIXTURES / "environment.yaml")
    recipe = yaml.safe_load(config.resolve(config.greengrass.recipe_path).read_text(encoding="utf-8"))
    artifacts = tmp_path_factory.mktemp("greengrass-artifacts")
    for manifest in recipe["Manifests"]:
        for artifact in manifest.get("Artifacts", []):
            if artifact["URI"].startswith("s3://"):
                (artifacts / artifact["URI"].rsplit("/", 1)[-1]).write_bytes(b"stand-in artifact")
    greengrass = config.greengrass.model_copy(update={"artifacts_dir": artifacts})
    return config.model_copy(update={"greengrass": greengrass})


@pytest.fixture(scope="session")
def assembly(environment: EnvironmentConfig, tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    directory = tmp_path_factory.mktemp("cdk.out")
    app, stacks = build_app(environment, outdir=str(directory))
    app.synth()
    return Assembly(config=environment, directory=directory, stacks=stacks)
