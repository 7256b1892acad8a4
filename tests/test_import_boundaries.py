"""The dependency direction of ARCHITECTURE.md, checked on the source: which app may
import which. `frontoffice` (the kernel) is open to every app and imports none; `config`
(the composition root) imports no app by name either: it reads the apps' hooks.

Read with `ast` rather than by importing, so a forbidden import is caught wherever it
hides (a function body, a management command, a test) and nothing is executed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("customers", "marketing", "sales", "service", "backoffice_sync")
# What each app may import besides itself and `frontoffice` (ARCHITECTURE.md, "Dependency direction").
ALLOWED = {
    "customers": set(),
    "sales": {"customers", "backoffice_sync"},
    "service": {"customers", "sales", "backoffice_sync"},
    "marketing": {"customers", "sales"},
    "backoffice_sync": {"customers"},
}
DYNAMIC_IMPORTERS = {"import_module", "import_string", "__import__"}


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) for every import statement, and for `import_module("x.y")`-style
    calls with a literal name."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in DYNAMIC_IMPORTERS and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def violations(app: str) -> list[str]:
    forbidden = set(APPS) - ALLOWED[app] - {app}
    problems = []
    for path in sorted((ROOT / app).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, module in imported_modules(tree):
            if module.split(".")[0] in forbidden:
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return problems


@pytest.mark.parametrize("app", APPS)
def test_each_app_imports_only_what_the_architecture_allows(app: str) -> None:
    assert violations(app) == []


@pytest.mark.parametrize("package", ["frontoffice", "config"])
def test_the_kernel_and_the_composition_root_import_no_app(package: str) -> None:
    problems = []
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, module in imported_modules(tree):
            if module.split(".")[0] in APPS:
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert problems == []


def test_the_kernel_does_not_import_the_composition_root() -> None:
    problems = []
    for path in sorted((ROOT / "frontoffice").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        problems += [
            f"{path.relative_to(ROOT)}:{line}"
            for line, m in imported_modules(tree)
            if m.split(".")[0] == "config"
        ]
    assert problems == []


def test_the_check_catches_an_import_hidden_in_a_function() -> None:
    source = "def handle():\n    from sales.models import Opportunity\n    import_module('service.tasks')\n"
    assert [module for _, module in imported_modules(ast.parse(source))] == ["sales.models", "service.tasks"]
