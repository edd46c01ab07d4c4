"""The job's two container images as CDK image assets (built and pushed by `cdk deploy`, not by synth).

At synth the CDK only stages the build context into the cloud assembly and hashes it, so `cdk synth`
works offline and without Docker. The context is the repository root restricted to what the package
build needs; the Dockerfiles live in infra/processing/images/.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import IgnoreMode
from aws_cdk import aws_ecr_assets as ecr_assets
from constructs import Construct

from anonflow.infra.config import REPO_ROOT

# Docker-ignore patterns: everything but the package sources (no .venv, node_modules, cdk.out, tests).
CONTEXT_EXCLUDE: Final = (
    "*",
    "!pyproject.toml",
    "!README.md",
    "!anonflow",
    "!dataflow",
    "!edge",
    "!models",
    "!infra",
    "**/__pycache__",
    "infra/node_modules",
    "infra/cdk.out",
    "edge/greengrass/greengrass-build",
)
WORKER_DOCKERFILE: Final = "infra/processing/images/worker/Dockerfile"
JOB_SERVER_DOCKERFILE: Final = "infra/processing/images/jobserver/Dockerfile"


def _asset(
    scope: Construct, construct_id: str, dockerfile: str, args: dict[str, str]
) -> ecr_assets.DockerImageAsset:
    return ecr_assets.DockerImageAsset(
        scope,
        construct_id,
        directory=str(REPO_ROOT),
        file=dockerfile,
        build_args=args,
        exclude=list(CONTEXT_EXCLUDE),
        ignore_mode=IgnoreMode.DOCKER,
        platform=ecr_assets.Platform.LINUX_AMD64,
    )


def worker_image(scope: Construct, beam_version: str) -> ecr_assets.DockerImageAsset:
    return _asset(scope, "WorkerImage", WORKER_DOCKERFILE, {"BEAM_VERSION": beam_version})


def job_server_image(scope: Construct, beam_version: str, flink_version: str) -> ecr_assets.DockerImageAsset:
    return _asset(
        scope,
        "JobServerImage",
        JOB_SERVER_DOCKERFILE,
        {"BEAM_VERSION": beam_version, "FLINK_VERSION": flink_version},
    )
