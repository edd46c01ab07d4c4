"""Build the gateway component for Greengrass: gdk's custom build (`gdk component build`) runs this.

Writes, under `greengrass-build/` beside this file (or `--output`):
    artifacts/<name>/<version>/anonflow.zip   wheels/anonflow-<v>-py3-none-any.whl (+ dependency wheels
                                              with --with-dependencies, for gateways without index access)
    artifacts/<name>/<version>/models.zip     pose/..., attributes/...: the manifest's default models,
                                              verified against their sha256 (never the AGPL ones)
    recipes/recipe.yaml                       recipe.yaml with name, version and author filled in
Name, version and author come from gdk-config.json. Run with the project's Python (it imports the model
manifest): `.venv/bin/python edge/greengrass/build.py --model-dir ../shared/models`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PLACEHOLDERS = ("{COMPONENT_NAME}", "{COMPONENT_VERSION}", "{COMPONENT_AUTHOR}")


def gdk_component(config_path: Path) -> tuple[str, str, str]:
    """(name, version, author) of the one component in gdk-config.json."""
    components = json.loads(config_path.read_text(encoding="utf-8"))["component"]
    (name, settings), *others = components.items()
    if others:
        raise ValueError(f"{config_path}: expected one component, found {len(others) + 1}")
    version = str(settings["version"])
    if version == "NEXT_PATCH":
        raise ValueError(
            f"{config_path}: set a semantic version; the custom build names its artifact folder by it"
        )
    return name, version, str(settings.get("author", "anonflow"))


def render_recipe(template: str, *, name: str, version: str, author: str) -> str:
    """The recipe with gdk's placeholders filled in (artifact URIs stay templated for `gdk publish`)."""
    text = template
    for placeholder, value in zip(PLACEHOLDERS, (name, version, author), strict=True):
        text = text.replace(placeholder, value)
    return text


def package_models(model_dir: Path, destination: Path) -> list[str]:
    """Zip the default model of each role (and its sidecar, if converted here) at its manifest path;
    returns the stored names."""
    sys.path.insert(0, str(ROOT))
    from anonflow.edge.modelfiles.registry import default_model, resolve

    stored = []
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_STORED) as archive:
        for role in ("pose", "attributes"):
            spec = default_model(role)
            path = resolve(spec, model_dir)
            archive.write(path, arcname=spec.file)
            stored.append(spec.file)
            # A model converted from its upstream release is accepted only with its conversion sidecar.
            sidecar = path.with_name(path.name + ".json")
            if sidecar.is_file():
                archive.write(sidecar, arcname=spec.file + ".json")
                stored.append(spec.file + ".json")
    return stored


def package_wheels(destination: Path, *, with_dependencies: bool) -> list[str]:
    """Build the anonflow wheel (and optionally every dependency of the edge extra) into a zip."""
    with tempfile.TemporaryDirectory() as scratch:
        # A copy of the sources, so the build's own scratch folders never land in the working tree.
        source = Path(scratch) / "source"
        shutil.copytree(ROOT, source, ignore=_not_sources)
        wheels = Path(scratch) / "wheels"
        target = f"{source}[edge]" if with_dependencies else str(source)
        command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheels), target]
        if not with_dependencies:
            command.insert(4, "--no-deps")
        subprocess.run(command, check=True, cwd=scratch)
        names = sorted(p.name for p in wheels.glob("*.whl"))
        with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in names:
                archive.write(wheels / name, arcname=f"wheels/{name}")
    return names


def _not_sources(directory: str, names: list[str]) -> set[str]:
    skip = {".git", ".venv", "node_modules", "cdk.out", "build", "dist", "greengrass-build", "tests", "bench"}
    top = Path(directory) == ROOT
    return {n for n in names if n in skip or n.endswith((".egg-info", "_cache")) or n == "__pycache__"} | (
        {n for n in names if not (n in _SOURCE_TOP or n.startswith("README"))} if top else set()
    )


_SOURCE_TOP = {"pyproject.toml", "anonflow", "edge", "models", "dataflow", "infra", "LICENSE"}


def build(output: Path, *, model_dir: Path, with_dependencies: bool = False) -> Path:
    name, version, author = gdk_component(HERE / "gdk-config.json")
    artifacts = output / "artifacts" / name / version
    recipes = output / "recipes"
    artifacts.mkdir(parents=True, exist_ok=True)
    recipes.mkdir(parents=True, exist_ok=True)
    package_wheels(artifacts / "anonflow.zip", with_dependencies=with_dependencies)
    package_models(model_dir, artifacts / "models.zip")
    template = (HERE / "recipe.yaml").read_text(encoding="utf-8")
    (recipes / "recipe.yaml").write_text(render_recipe(template, name=name, version=version, author=author))
    return artifacts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output", type=Path, default=HERE / "greengrass-build", help="build folder")
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=Path(os.environ["ANONFLOW_MODEL_DIR"]) if os.environ.get("ANONFLOW_MODEL_DIR") else None,
        help="model directory (default: $ANONFLOW_MODEL_DIR)",
    )
    parser.add_argument(
        "--with-dependencies",
        action="store_true",
        help="also bundle every dependency wheel (build on the gateways' platform and Python version)",
    )
    args = parser.parse_args(argv)
    if args.model_dir is None:
        parser.error("no model directory: pass --model-dir or set ANONFLOW_MODEL_DIR")
    artifacts = build(args.output, model_dir=args.model_dir, with_dependencies=args.with_dependencies)
    print(f"built {artifacts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
