"""The CDK app: five stacks per environment, from `infra/environments/<env>.yaml`.

    cd infra && npx cdk synth -c env=dev        # or: python -m anonflow.infra.app --env dev --outdir cdk.out

Stacks (`<Part>-<env>`): AnonflowData, AnonflowFleet, AnonflowEdge, AnonflowProcessing,
AnonflowMonitoring; see infra/README.md for what each creates and the deploy order.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import aws_cdk as cdk

from anonflow.contract.errors import AnonflowError
from anonflow.infra.config import EnvironmentConfig, load_environment
from anonflow.infra.data.stack import DataStack
from anonflow.infra.greengrass.stack import EdgeStack
from anonflow.infra.iot.stack import FleetStack
from anonflow.infra.observability.stack import MonitoringStack
from anonflow.infra.processing.stack import ProcessingStack

# Behaviour switches of aws-cdk-lib the stacks rely on (cdk.json carries none, so tests and CLI agree).
FEATURE_FLAGS: Final[dict[str, object]] = {
    # Server access logs are granted by bucket policy, which works with ObjectOwnership BucketOwnerEnforced.
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
    "@aws-cdk/core:enablePartitionLiterals": True,
    # Stacks export what others import and CloudFormation keeps an export while it is imported.
    "@aws-cdk/core:defaultCrossStackReferences": "strong",
}


@dataclass(frozen=True, slots=True)
class AnonflowStacks:
    """The stacks of one environment, for tests and for callers that add to them."""

    data: DataStack
    fleet: FleetStack
    edge: EdgeStack
    processing: ProcessingStack
    monitoring: MonitoringStack

    def all(self) -> tuple[cdk.Stack, ...]:
        return (self.data, self.fleet, self.edge, self.processing, self.monitoring)


def stack_name(part: str, config: EnvironmentConfig) -> str:
    return f"Anonflow{part}-{config.name}"


def add_stacks(app: cdk.App, config: EnvironmentConfig) -> AnonflowStacks:
    """Define every stack of `config` in `app`."""
    env = cdk.Environment(account=config.account, region=config.region)
    tags = {"project": "anonflow", "environment": config.name}

    def name(part: str) -> str:
        return stack_name(part, config)

    data = DataStack(app, name("Data"), config=config, env=env, tags=tags)
    fleet = FleetStack(app, name("Fleet"), config=config, data=data, env=env, tags=tags)
    edge = EdgeStack(app, name("Edge"), config=config, data=data, fleet=fleet, env=env, tags=tags)
    processing = ProcessingStack(app, name("Processing"), config=config, data=data, env=env, tags=tags)
    monitoring = MonitoringStack(
        app,
        name("Monitoring"),
        config=config,
        data=data,
        fleet=fleet,
        processing=processing,
        env=env,
        tags=tags,
    )
    return AnonflowStacks(data=data, fleet=fleet, edge=edge, processing=processing, monitoring=monitoring)


def build_app(config: EnvironmentConfig, *, outdir: str | None = None) -> tuple[cdk.App, AnonflowStacks]:
    app = cdk.App(outdir=outdir, context=dict(FEATURE_FLAGS))
    return app, add_stacks(app, config)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m anonflow.infra.app", description="Synthesise anonflow's stacks."
    )
    parser.add_argument("--env", help="environment name or YAML path (default: CDK context `env`, else dev)")
    parser.add_argument("--outdir", help="cloud assembly directory (default: the CDK CLI's, else cdk.out)")
    args = parser.parse_args(argv)
    # Under the CDK CLI, CDK_OUTDIR names the assembly directory and must not be overridden.
    outdir = args.outdir or (None if os.environ.get("CDK_OUTDIR") else "cdk.out")
    app = cdk.App(outdir=outdir, context=dict(FEATURE_FLAGS))
    source = args.env or app.node.try_get_context("env") or os.environ.get("ANONFLOW_ENV", "dev")
    try:
        add_stacks(app, load_environment(str(source)))
    except AnonflowError as error:
        print(f"infra: error: {error}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
