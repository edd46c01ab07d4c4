"""Rendering the edge's gdk-style recipe for registration: names, versions, artifact URIs, and errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from anonflow.contract.errors import InputError
from anonflow.infra.config import REPO_ROOT
from anonflow.infra.greengrass.recipe import check_configuration, render_recipe

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "greengrass"
EDGE_RECIPE = REPO_ROOT / "edge" / "greengrass" / "recipe.yaml"


def _copy_fixture(tmp_path: Path) -> Path:
    target = tmp_path / "greengrass"
    shutil.copytree(FIXTURE, target)
    return target


def test_render_fills_names_versions_and_uris() -> None:
    rendered = render_recipe(
        FIXTURE / "recipe.yaml",
        component_version="2.0.1",
        artifacts_dir=FIXTURE / "artifacts",
        bucket_name="my-bucket",
        key_prefix="greengrass/",
    )
    assert rendered.component_name == "dev.anonflow.Gateway"
    assert rendered.recipe["ComponentVersion"] == "2.0.1"
    uris = [a["URI"] for m in rendered.recipe["Manifests"] for a in m["Artifacts"]]
    assert uris == [
        "s3://my-bucket/greengrass/dev.anonflow.Gateway/2.0.1/anonflow-gateway.zip",
        "s3://my-bucket/greengrass/dev.anonflow.Gateway/2.0.1/models.zip",
    ]
    assert [(a.file_name, a.key) for a in rendered.artifacts] == [
        ("anonflow-gateway.zip", "greengrass/dev.anonflow.Gateway/2.0.1/anonflow-gateway.zip"),
        ("models.zip", "greengrass/dev.anonflow.Gateway/2.0.1/models.zip"),
    ]
    assert "{COMPONENT" not in json.dumps(rendered.recipe)
    assert "configPath" in rendered.default_configuration


def test_version_defaults_to_gdk_config(tmp_path: Path) -> None:
    directory = _copy_fixture(tmp_path)
    gdk = json.loads((directory / "gdk-config.json").read_text())
    gdk["component"]["dev.anonflow.Gateway"]["version"] = "4.5.6"
    (directory / "gdk-config.json").write_text(json.dumps(gdk))
    rendered = render_recipe(
        directory / "recipe.yaml",
        component_version=None,
        artifacts_dir=directory / "artifacts",
        bucket_name="b",
        key_prefix="p/",
    )
    assert rendered.component_version == rendered.recipe["ComponentVersion"] == "4.5.6"
    gdk["component"]["dev.anonflow.Gateway"]["version"] = "NEXT_PATCH"
    (directory / "gdk-config.json").write_text(json.dumps(gdk))
    with pytest.raises(InputError, match="'NEXT_PATCH' is not a semantic version"):
        render_recipe(
            directory / "recipe.yaml",
            component_version=None,
            artifacts_dir=directory / "artifacts",
            bucket_name="b",
            key_prefix="p/",
        )


def test_artifacts_dir_may_name_the_gdk_build_layout(tmp_path: Path) -> None:
    build = tmp_path / "greengrass-build" / "artifacts" / "dev.anonflow.Gateway" / "3.0.0"
    shutil.copytree(FIXTURE / "artifacts", build)
    rendered = render_recipe(
        FIXTURE / "recipe.yaml",
        component_version="3.0.0",
        artifacts_dir=tmp_path / "greengrass-build/artifacts/{component_name}/{component_version}",
        bucket_name="b",
        key_prefix="gg/",
    )
    assert rendered.artifacts_dir == build


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("ComponentName"), "ComponentName is missing"),
        (lambda d: d.update(ComponentVersion="9.9.9"), "ComponentVersion '9.9.9' differs"),
        (
            lambda d: d["Manifests"][0]["Artifacts"].append({"URI": "s3://BUCKET_NAME/x/y/missing.whl"}),
            "artifact missing.whl not found",
        ),
        (lambda d: d.update(Manifests={"os": "linux"}), "Manifests must be a list"),
    ],
)
def test_bad_recipe_is_one_clear_error(tmp_path: Path, edit: object, message: str) -> None:
    directory = _copy_fixture(tmp_path)
    recipe = yaml.safe_load((directory / "recipe.yaml").read_text())
    edit(recipe)  # type: ignore[operator]
    (directory / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    with pytest.raises(InputError, match=message):
        render_recipe(
            directory / "recipe.yaml",
            component_version="1.0.0",
            artifacts_dir=directory / "artifacts",
            bucket_name="b",
            key_prefix="p/",
        )


def test_templated_name_needs_gdk_config(tmp_path: Path) -> None:
    directory = _copy_fixture(tmp_path)
    (directory / "gdk-config.json").unlink()
    with pytest.raises(InputError, match=r"no gdk-config\.json beside it"):
        render_recipe(
            directory / "recipe.yaml",
            component_version="1.0.0",
            artifacts_dir=directory / "artifacts",
            bucket_name="b",
            key_prefix="p/",
        )


def test_unknown_configuration_key_is_rejected() -> None:
    rendered = render_recipe(
        FIXTURE / "recipe.yaml",
        component_version="1.0.0",
        artifacts_dir=FIXTURE / "artifacts",
        bucket_name="b",
        key_prefix="p/",
    )
    check_configuration(rendered, {"logLevel": "DEBUG"}, source="env")
    with pytest.raises(InputError, match=r"configuration keys \['loglevel'\] are not in the recipe"):
        check_configuration(rendered, {"loglevel": "DEBUG"}, source="env")


@pytest.mark.skipif(not EDGE_RECIPE.is_file(), reason="edge/greengrass/recipe.yaml not written yet")
def test_edge_recipe_renders(tmp_path: Path) -> None:
    """The real recipe: every S3 artifact it names gets a key under the component's version prefix."""
    raw = yaml.safe_load(EDGE_RECIPE.read_text())
    names = [
        a["URI"].rsplit("/", 1)[-1]
        for m in raw.get("Manifests", [])
        for a in m.get("Artifacts", [])
        if str(a.get("URI", "")).startswith("s3://")
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"built by gdk in a real deploy")
    rendered = render_recipe(
        EDGE_RECIPE,
        component_version="1.0.0",
        artifacts_dir=tmp_path,
        bucket_name="b",
        key_prefix="greengrass/",
    )
    assert [a.file_name for a in rendered.artifacts] == list(dict.fromkeys(names))
    assert "{COMPONENT_NAME}" not in json.dumps(rendered.recipe)
