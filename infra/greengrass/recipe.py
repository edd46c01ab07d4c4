"""Turn the edge's templated Greengrass recipe into the recipe registered in the cloud.

The recipe under `edge/` is written for the Greengrass Development Kit: `{COMPONENT_NAME}`,
`{COMPONENT_VERSION}` and `{COMPONENT_AUTHOR}` stand for values from `gdk-config.json`, and artifact
URIs read `s3://BUCKET_NAME/COMPONENT_NAME/COMPONENT_VERSION/<file>`. Rendering fills those in with the
infrastructure's artifacts bucket and the environment's component version, and checks that every
artifact file exists locally, so a missing build output is an error at synth time, not on a gateway.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from anonflow.contract.errors import InputError
from anonflow.contract.settings import read_mapping

_NAME, _VERSION, _AUTHOR = "{COMPONENT_NAME}", "{COMPONENT_VERSION}", "{COMPONENT_AUTHOR}"


@dataclass(frozen=True, slots=True)
class Artifact:
    """One S3 artifact: the local file to upload and the key it is uploaded to."""

    file_name: str
    local_path: Path
    key: str


@dataclass(frozen=True, slots=True)
class RenderedRecipe:
    """A recipe ready for `CreateComponentVersion`, and the artifact files it expects in S3."""

    component_name: str
    component_version: str
    recipe: dict[str, Any]
    artifacts: tuple[Artifact, ...]
    artifacts_dir: Path

    @property
    def default_configuration(self) -> dict[str, Any]:
        configuration = self.recipe.get("ComponentConfiguration", {}).get("DefaultConfiguration", {})
        return dict(configuration) if isinstance(configuration, dict) else {}


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(f"Greengrass recipe {path} not found")
    return read_mapping(path, "Greengrass recipe", holds="recipe fields")


@dataclass(frozen=True, slots=True)
class _Gdk:
    name: str | None = None
    author: str | None = None
    version: str | None = None


def _gdk_values(recipe_path: Path) -> _Gdk:
    """Component name, author and version from `gdk-config.json` beside the recipe, if there is one."""
    gdk_path = recipe_path.parent / "gdk-config.json"
    if not gdk_path.is_file():
        return _Gdk()
    try:
        components = json.loads(gdk_path.read_text(encoding="utf-8"))["component"]
        name, settings = next(iter(components.items()))
        settings = settings if isinstance(settings, dict) else {}
    except (ValueError, KeyError, StopIteration, AttributeError) as error:
        raise InputError(f"{gdk_path}: expected {{'component': {{<name>: {{...}}}}}}: {error}") from error
    version = settings.get("version")
    return _Gdk(name=name, author=settings.get("author"), version=str(version) if version else None)


def _substitute(value: Any, replacements: dict[str, str]) -> Any:
    if isinstance(value, str):
        for placeholder, replacement in replacements.items():
            value = value.replace(placeholder, replacement)
        return value
    if isinstance(value, list):
        return [_substitute(v, replacements) for v in value]
    if isinstance(value, dict):
        # Keys too: accessControl policy ids are conventionally `{COMPONENT_NAME}:mqttproxy:1`.
        return {_substitute(k, replacements): _substitute(v, replacements) for k, v in value.items()}
    return value


def render_recipe(
    recipe_path: Path,
    *,
    component_version: str | None,
    artifacts_dir: Path,
    bucket_name: str,
    key_prefix: str,
) -> RenderedRecipe:
    """Fill in name, version, author and artifact URIs; `artifacts_dir` may use `{component_name}` and
    `{component_version}` (gdk builds to `greengrass-build/artifacts/<name>/<version>/`). Without
    `component_version`, the version comes from gdk-config.json.

    `bucket_name` may be a CloudFormation token; it is only placed into strings.
    """
    raw = _read_yaml(recipe_path)
    gdk = _gdk_values(recipe_path)
    gdk_name, gdk_author = gdk.name, gdk.author
    name = raw.get("ComponentName")
    if not isinstance(name, str) or not name:
        raise InputError(f"{recipe_path}: ComponentName is missing")
    if name == _NAME:
        if gdk_name is None:
            raise InputError(
                f"{recipe_path}: ComponentName is {_NAME} but there is no gdk-config.json beside it"
            )
        name = gdk_name
    author = raw.get("ComponentPublisher", "anonflow")
    if author == _AUTHOR:
        author = gdk_author or "anonflow"
    if component_version is None:
        component_version = gdk.version
    if component_version is None or not re.fullmatch(r"\d+\.\d+\.\d+", component_version):
        raise InputError(
            f"{recipe_path}: component version {component_version!r} is not a semantic version; set "
            "greengrass.component_version in the environment or `version` in gdk-config.json"
        )
    recipe_version = raw.get("ComponentVersion", _VERSION)
    if recipe_version not in (_VERSION, component_version):
        raise InputError(
            f"{recipe_path}: ComponentVersion {recipe_version!r} differs from the environment's "
            f"component_version {component_version!r}; template it as {_VERSION} or make them equal"
        )
    recipe = _substitute(raw, {_NAME: name, _VERSION: component_version, _AUTHOR: str(author)})
    recipe["ComponentVersion"] = component_version

    local_dir = Path(str(artifacts_dir).format(component_name=name, component_version=component_version))
    prefix = f"{key_prefix}{name}/{component_version}/"
    artifacts: dict[str, Artifact] = {}
    manifests = recipe.get("Manifests", [])
    if not isinstance(manifests, list):
        raise InputError(f"{recipe_path}: Manifests must be a list")
    for manifest in manifests:
        for artifact in manifest.get("Artifacts", []) if isinstance(manifest, dict) else []:
            uri = artifact.get("URI") or artifact.get("Uri") or ""
            if not uri.startswith("s3://"):
                continue  # docker: or greengrass: artifacts are fetched from elsewhere
            file_name = PurePosixPath(uri).name
            local_path = local_dir / file_name
            if not local_path.is_file():
                raise InputError(
                    f"{recipe_path}: artifact {file_name} not found at {local_path} "
                    "(build it first, e.g. `gdk component build`)"
                )
            key = prefix + file_name
            artifacts[file_name] = Artifact(file_name=file_name, local_path=local_path, key=key)
            artifact["URI"] = f"s3://{bucket_name}/{key}"
            artifact.pop("Uri", None)
    return RenderedRecipe(
        component_name=name,
        component_version=component_version,
        recipe=recipe,
        artifacts=tuple(artifacts.values()),
        artifacts_dir=local_dir,
    )


def check_configuration(rendered: RenderedRecipe, configuration: dict[str, Any], *, source: str) -> None:
    """Reject deployment configuration keys the recipe does not declare (a typo would be silently ignored)."""
    known = rendered.default_configuration
    unknown = sorted(set(configuration) - set(known))
    if unknown:
        raise InputError(
            f"{source}: configuration keys {unknown} are not in the recipe's DefaultConfiguration "
            f"(known: {sorted(known)})"
        )
