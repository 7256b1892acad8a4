"""mypy holds every service and selector module to the strict flags (pyproject.toml)."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = ("customers", "sales", "service", "marketing", "backoffice_sync")


def _strict_patterns() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for override in config["tool"]["mypy"]["overrides"]:
        if override.get("disallow_untyped_defs"):
            return list(override["module"])
    raise AssertionError("no strict override in pyproject.toml")


def _covered(module: str, patterns: list[str]) -> bool:
    # mypy's patterns: a trailing ".*" covers submodules; "*" inside stands for one part.
    for pattern in patterns:
        if pattern.endswith(".*") and (module + ".").startswith(pattern[:-1]):
            return True
        parts, wanted = module.split("."), pattern.split(".")
        if len(parts) == len(wanted) and all(
            fnmatch.fnmatchcase(p, w) for p, w in zip(parts, wanted, strict=True)
        ):
            return True
    return False


def test_every_services_and_selectors_module_is_type_checked_strictly() -> None:
    patterns = _strict_patterns()
    modules = [
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "tests" not in path.parts
        and "migrations" not in path.parts
        and path.stem.split("_")[0] in ("services", "selectors")
    ]
    assert modules, "no module found: the check would be empty"
    assert [m for m in modules if not _covered(m, patterns)] == []
