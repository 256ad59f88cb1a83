"""The import graph runs one way: each package imports only the packages below it.

    scim (the pure protocol)  <  observability  <  tenants  <  outbox  <  directory
        <  provisioning  <  scim_api (the SCIM edge)  <  console (the operator console's backend)
        <  portal  <  config (the project)

So the edge calls the domain, the domain appends to the outbox, and nothing below ever imports
something above it (no package pair imports each other; function-level imports count too).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = [
    "scim",
    "observability",
    "tenants",
    "outbox",
    "directory",
    "provisioning",
    "scim_api",
    "console",
    "portal",
    "config",
]
RANK = {name: index for index, name in enumerate(LAYERS)}
# The pure protocol imports nothing of the project and nothing of Django.
PURE = {"scim"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules(package: str) -> list[Path]:
    return [p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts]


@pytest.mark.parametrize("package", LAYERS)
def test_packages_import_only_the_layers_below_them(package: str) -> None:
    upward = []
    for path in _modules(package):
        for module in _imports(path):
            top = module.split(".")[0]
            if top in RANK and top != package and RANK[top] > RANK[package]:
                upward.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize("package", sorted(PURE))
def test_the_protocol_is_pure_python(package: str) -> None:
    impure = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in _modules(package)
        for module in _imports(path)
        if module.split(".")[0] == "django"
    ]
    assert not impure, "\n".join(impure)


def test_every_project_package_has_a_layer() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages <= set(LAYERS), packages - set(LAYERS)
