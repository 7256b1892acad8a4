"""What `make run` installs (issue #12: a first start took 134 s, much of it installing):
the exact runtime versions only, about half the download; the development tools come with
`make install` and `make test`. Both lock files together pin every dependency once."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

BASE_DIR = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((BASE_DIR / "pyproject.toml").read_text())["project"]


def _names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(line).name) for line in requirements}


def _needed_by(requirements: list[str]) -> set[str]:
    """These requirements and everything they need, transitively, read from the metadata
    of the installed packages (pip and setuptools aside: the lock files leave them out)."""
    needed: set[str] = set()
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [Requirement(line) for line in requirements]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if (name, frozenset(requirement.extras)) in seen:
            continue
        seen.add((name, frozenset(requirement.extras)))
        needed.add(name)
        for line in metadata.requires(requirement.name) or []:
            dependency = Requirement(line)
            extras = requirement.extras or {""}
            if dependency.marker is None or any(dependency.marker.evaluate({"extra": e}) for e in extras):
                todo.append(dependency)
    return needed - {"pip", "setuptools"}


def _pins(lock: str, *, included: bool = True) -> set[str]:
    """The packages a lock file pins; with `included`, those of the files it includes too."""
    pins: set[str] = set()
    for line in (BASE_DIR / lock).read_text().splitlines():
        if line.startswith("-r "):
            if included:
                pins |= _pins(line.removeprefix("-r ").strip())
        elif "==" in line and not line.startswith("#"):
            pins.add(canonicalize_name(line.partition("==")[0]))
    return pins


def _installed_by(target: str) -> list[str]:
    """The lock files `make <target>` installs from, read from its recipes (`make -n -B`)."""
    # Not as a sub-make of `make test`: its flags (jobserver, -n...) are not ours.
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MAKE", "MFLAGS"))}
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", target],  # noqa: S607
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return re.findall(r"pip install --quiet -r (\S+)", dry_run.stdout)


def test_make_run_installs_what_the_runtime_dependencies_need_and_nothing_else() -> None:
    # when (`make -n -B` shows the install again in the sub-make that serves)
    locks = set(_installed_by("run"))

    # then: no test runner, browser driver or linter
    assert locks == {"requirements.lock"}
    assert _pins("requirements.lock") == _needed_by(PYPROJECT["dependencies"])


def test_make_install_adds_the_development_versions_on_top() -> None:
    # when
    locks = _installed_by("install")

    # then
    assert locks == ["requirements.lock", "requirements-dev.lock"]
    assert _names(PYPROJECT["optional-dependencies"]["dev"]) <= _pins("requirements-dev.lock")


def test_no_package_is_pinned_in_both_lock_files() -> None:
    # given
    runtime = _pins("requirements.lock")
    development = _pins("requirements-dev.lock", included=False)

    # then
    assert sorted(runtime & development) == []
