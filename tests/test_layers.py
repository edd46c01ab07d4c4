"""The house's layers, read from the imports of every product file (module level and inside functions).

contract is the ground; edge and dataflow stand on it and never on each other; models tooling may use the
edge; infra reads the contract and the edge's Greengrass packaging; the CLI is the roof. Nothing in the
product imports tests, bench or a test kit, and no import chain runs in a circle (an import inside a
function counts: it only hides a circle from the interpreter, not from a reader).

The checker is run twice: on the real tree (must be clean) and on small trees written to tmp_path that break
each rule (must be caught), so this test can fail.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The installed package `anonflow` is the folder anonflow/ plus the part folders the symlinks point at.
PARTS = ("edge", "dataflow", "models", "infra")
LAYER_OF_PREFIX = (
    ("anonflow.contract", "contract"),
    ("anonflow.cli", "cli"),
    ("anonflow.edge", "edge"),
    ("anonflow.dataflow", "dataflow"),
    ("anonflow.models", "models"),
    ("anonflow.infra", "infra"),
    ("anonflow", "contract"),  # anonflow/__init__.py: the version string, part of the ground
)
ALLOWED: dict[str, frozenset[str]] = {
    "contract": frozenset({"contract"}),
    "edge": frozenset({"contract", "edge"}),
    "dataflow": frozenset({"contract", "dataflow"}),
    "models": frozenset({"contract", "edge", "models"}),
    "infra": frozenset({"contract", "infra", "edge.greengrass"}),
    "cli": frozenset({"contract", "edge", "dataflow", "models", "infra", "cli"}),
}
SKIPPED = frozenset(
    {"node_modules", "cdk.out", "__pycache__"}
)  # installed tools and build output, not product
NEVER_IMPORTED = ("tests", "bench", "testkit", *PARTS)  # the bare part names exist only inside `anonflow`


@dataclass(frozen=True, slots=True)
class Import:
    """One import statement: the importing module, the imported module, and where it stands."""

    source: str
    target: str
    where: str


def product_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(module name, file) for every product source file under `root`, named as installed."""
    for base, prefix in [(root / "anonflow", "anonflow"), *((root / p, f"anonflow.{p}") for p in PARTS)]:
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.py")):
            relative = path.relative_to(base)
            if SKIPPED.intersection(relative.parts):
                continue
            if relative.parts[0] in PARTS and base.name == "anonflow":
                continue  # the symlinks anonflow/<part>: the part folders are read under their own name
            names = [prefix, *relative.with_suffix("").parts]
            if names[-1] == "__init__":
                names.pop()
            yield ".".join(names), path


def imports_of(module: str, path: Path, root: Path, modules: frozenset[str]) -> Iterator[Import]:
    """Every module `module` imports, anywhere in the file, resolved to a known module where possible."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, where)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                # `from package import submodule` imports the submodule.
                candidate = f"{target}.{alias.name}"
                yield Import(module, candidate if candidate in modules else target, where)


def layer_of(module: str) -> str | None:
    for prefix, layer in LAYER_OF_PREFIX:
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return None


def allowed(source_layer: str, target: str) -> bool:
    for permitted in ALLOWED[source_layer]:
        if target == f"anonflow.{permitted}" or target.startswith(f"anonflow.{permitted}."):
            return True
    return target == "anonflow"  # the version string


def violations(root: Path) -> list[str]:
    """Every import that runs against the layers, and every circle, as readable lines."""
    files = dict(product_files(root))
    modules = frozenset(files)
    found: list[str] = []
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in files.items():
        for imp in imports_of(module, path, root, modules):
            top = imp.target.split(".")[0]
            if top in NEVER_IMPORTED:
                found.append(f"{imp.where}: {module} imports {imp.target} (not part of the product)")
                continue
            if top != "anonflow":
                continue  # the standard library and third-party packages
            source_layer = layer_of(module)
            if source_layer and not allowed(source_layer, imp.target):
                found.append(f"{imp.where}: {source_layer} imports {imp.target} ({module})")
            if imp.target in modules and imp.target != module:
                graph[module].add(imp.target)
    found.extend(f"import circle: {' -> '.join(circle)}" for circle in circles(graph))
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each listed in sorted order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_product_keeps_its_layers_and_has_no_circles() -> None:
    assert violations(ROOT) == []


def test_the_checker_reads_every_part() -> None:
    files = dict(product_files(ROOT))
    layers = {layer_of(m) for m in files}
    assert layers == set(ALLOWED)
    assert "anonflow.edge.chain" in files and "anonflow.contract.entry" in files


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


BASE = {
    "anonflow/__init__.py": "",
    "anonflow/contract/__init__.py": "",
    "anonflow/contract/entry.py": "",
    "anonflow/cli/__init__.py": "from anonflow.dataflow import pipeline\n",
    "edge/__init__.py": "",
    "edge/chain.py": "from anonflow.contract import entry\n",
    "edge/greengrass/__init__.py": "",
    "edge/greengrass/build.py": "",
    "dataflow/__init__.py": "",
    "dataflow/pipeline.py": "from anonflow.contract.entry import Entry\n",
    "models/__init__.py": "",
    "models/quantize.py": "from anonflow.edge.chain import run\n",
    "infra/__init__.py": "",
    "infra/app.py": "from anonflow.edge.greengrass import build\n",
}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, []),
        ({"edge/chain.py": "from anonflow.dataflow.pipeline import x\n"}, ["edge imports anonflow.dataflow"]),
        ({"dataflow/pipeline.py": "import anonflow.edge.chain\n"}, ["dataflow imports anonflow.edge"]),
        (
            {"anonflow/contract/entry.py": "from anonflow.infra import app\n"},
            ["contract imports anonflow.infra"],
        ),
        ({"infra/app.py": "from anonflow.edge.chain import run\n"}, ["infra imports anonflow.edge.chain"]),
        (
            {"edge/chain.py": "def f():\n    from anonflow.dataflow import pipeline\n"},
            ["edge imports anonflow.dataflow"],
        ),
        ({"dataflow/pipeline.py": "from tests.kit import broker\n"}, ["imports tests.kit"]),
        ({"edge/chain.py": "import bench.storeday\n"}, ["imports bench.storeday"]),
        ({"models/quantize.py": "from edge.chain import run\n"}, ["imports edge.chain"]),
        (
            {  # a circle hidden by a function-level import
                "edge/a.py": "from anonflow.edge import b\n",
                "edge/b.py": "def f():\n    from anonflow.edge.a import x\n",
            },
            ["import circle: anonflow.edge.a -> anonflow.edge.b"],
        ),
        (
            {"dataflow/x.py": "from . import pipeline\n", "dataflow/pipeline.py": "from .x import y\n"},
            ["circle"],
        ),
    ],
    ids=[
        "clean",
        "edge-on-dataflow",
        "dataflow-on-edge",
        "contract-on-infra",
        "infra-on-edge-core",
        "function-level",
        "test-kit",
        "bench",
        "bare-part-name",
        "hidden-circle",
        "relative-circle",
    ],
)
def test_the_checker_catches_each_wrong_way_import(
    tmp_path: Path, changes: dict[str, str], expected: list[str]
) -> None:
    _write(tmp_path, {**BASE, **changes})
    found = violations(tmp_path)
    assert len(found) == len(expected), found
    for line, fragment in zip(found, expected, strict=True):
        assert fragment in line
