"""The gateway as a Greengrass component version: artifacts uploaded, recipe registered."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Stack
from aws_cdk import aws_greengrassv2 as greengrass
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct

from anonflow.infra.greengrass.recipe import RenderedRecipe, render_recipe


class GatewayComponent(Construct):
    """Uploads the recipe's artifacts to `<prefix><name>/<version>/` and creates the component version.

    Component versions are immutable: a changed recipe or artifact needs a new version (`component_version`,
    else the one in gdk-config.json).
    Uploaded artifacts are kept when the stack changes, since older versions on gateways still name them.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        recipe_path: Path,
        component_version: str | None,
        artifacts_dir: Path,
        bucket: s3.IBucket,
        key_prefix: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.rendered: RenderedRecipe = render_recipe(
            recipe_path,
            component_version=component_version,
            artifacts_dir=artifacts_dir,
            bucket_name=bucket.bucket_name,
            key_prefix=key_prefix,
        )
        upload = s3_deployment.BucketDeployment(
            self,
            "Artifacts",
            sources=[s3_deployment.Source.asset(str(self.rendered.artifacts_dir))],
            destination_bucket=bucket,
            destination_key_prefix=f"{key_prefix}{self.rendered.component_name}/{self.rendered.component_version}/",
            prune=False,
            retain_on_delete=True,
        )
        self.component = greengrass.CfnComponentVersion(
            self, "Version", inline_recipe=Stack.of(self).to_json_string(self.rendered.recipe)
        )
        # Greengrass reads the artifacts (to record their digests) when the version is created.
        self.component.node.add_dependency(upload)
        self.component_name = self.rendered.component_name
        self.component_version = self.rendered.component_version
