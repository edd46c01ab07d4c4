"""The processing tests' second assembly: the test environment with the scheduled batch option."""

from __future__ import annotations

import pytest

from anonflow.infra.app import build_app
from anonflow.infra.config import EnvironmentConfig
from tests.kit.cdk import Assembly


@pytest.fixture(scope="session")
def batch(environment: EnvironmentConfig, tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    """The same environment with `processing.runner: scheduled-batch`."""
    processing = environment.processing.model_copy(update={"runner": "scheduled-batch"})
    config = environment.model_copy(update={"processing": processing})
    directory = tmp_path_factory.mktemp("cdk.out-batch")
    app, stacks = build_app(config, outdir=str(directory))
    app.synth()
    return Assembly(config=config, directory=directory, stacks=stacks)
