"""docker-compose.yml names only things that exist: its services' commands, its
variables (documented settings), its Dockerfile; and the ERP placeholder answers."""

from __future__ import annotations

import importlib
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
# Services that run the project's own image (the others are stock postgres and redis).
APP_SERVICES = {name: s for name, s in SERVICES.items() if "build" in s}
INTERPOLATED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


def readme_settings() -> set[str]:
    """The variables in the first column of README.md's settings table."""
    names = set()
    for line in (ROOT / "README.md").read_text().splitlines():
        match = re.match(r"\|\s*`([A-Z][A-Z0-9_]*)`", line)
        if match:
            names.add(match.group(1))
    return names


def argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else list(command)


def check_command(args: list[str]) -> None:
    """Fail unless the command runs something this project provides."""
    from django.core.management import get_commands

    program = args[0]
    if program in ("python", "python3") and args[1:2] == ["manage.py"]:
        assert args[2] in get_commands(), f"no management command {args[2]!r}"
    elif program == "celery":
        from celery.app.utils import find_app

        app_name = args[args.index("-A") + 1]
        assert find_app(app_name).main == "frontoffice"
        positional = [a for a in args[args.index("-A") + 2 :] if not a.startswith("-")]
        assert positional[0] in ("worker", "beat"), f"unexpected celery command {positional[0]!r}"
    elif program == "gunicorn":
        module_name, attribute = next(a for a in args[1:] if ":" in a and not a.startswith("-")).split(":")
        assert callable(getattr(importlib.import_module(module_name), attribute))
    else:
        pytest.fail(f"unknown program {program!r} in {args}")


def test_it_declares_every_production_service() -> None:
    # then
    assert {"postgres", "redis", "web", "worker", "beat", "migrate", "erp"} <= set(SERVICES)
    assert set(APP_SERVICES) == {"web", "worker", "beat", "migrate", "erp"}


def test_postgres_and_redis_are_pinned_with_health_checks_and_postgres_keeps_its_data() -> None:
    # given
    postgres, redis = SERVICES["postgres"], SERVICES["redis"]

    # then
    assert postgres["image"] == "postgres:16"
    assert redis["image"] == "redis:7"
    assert "healthcheck" in postgres
    assert "healthcheck" in redis
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in COMPOSE["volumes"]


# Importing the WSGI module builds the app; whitenoise warns that static files were
# not collected, which a test run does not need.
NO_STATIC = pytest.mark.filterwarnings("ignore:No directory at:UserWarning")


@NO_STATIC
@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_every_command_runs_something_the_project_provides(service: str) -> None:
    # when / then
    check_command(argv(APP_SERVICES[service]["command"]))


def test_the_services_run_web_worker_beat_migrate_and_the_simulator() -> None:
    # given
    commands = {name: argv(s["command"]) for name, s in APP_SERVICES.items()}

    # then
    assert commands["web"][:2] == ["gunicorn", "config.wsgi:application"]
    assert "0.0.0.0:8000" in commands["web"]
    assert commands["worker"][3] == "worker"
    assert commands["beat"][3] == "beat"
    assert commands["migrate"][:3] == ["python", "manage.py", "migrate"]
    assert commands["erp"][:3] == ["python", "manage.py", "run_erp_simulator"]
    assert commands["erp"][commands["erp"].index("--port") + 1] == "8765"


def test_the_app_runs_in_production_mode_against_the_simulator_after_migrating() -> None:
    # given
    web = APP_SERVICES["web"]

    # then
    assert web["environment"]["DEBUG"] == "0"
    assert web["environment"]["ERP_ADAPTER"] == "http"
    assert web["environment"]["ERP_URL"] == "http://erp:8765"
    assert web["environment"]["DATABASE_URL"].startswith("postgres://")
    assert web["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert SERVICES["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        depends = APP_SERVICES[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_every_variable_the_app_gets_is_a_documented_setting(service: str) -> None:
    # given
    documented = readme_settings()

    # then
    assert set(APP_SERVICES[service]["environment"]) <= documented


def test_every_interpolated_variable_is_documented_in_the_readme() -> None:
    # given
    text = (ROOT / "docker-compose.yml").read_text()
    readme = (ROOT / "README.md").read_text()

    # then
    for name in set(INTERPOLATED.findall(text)):
        assert f"`{name}`" in readme, f"{name} is not explained in README.md"


@NO_STATIC
def test_the_dockerfile_exists_installs_the_lock_file_and_runs_a_project_command() -> None:
    # given
    build = APP_SERVICES["web"]["build"]
    dockerfile = ROOT / build["context"] / build["dockerfile"]

    # when
    text = dockerfile.read_text()

    # then
    assert re.search(r"^COPY requirements\.lock ", text, re.MULTILINE)
    assert re.search(r"^RUN pip install -r requirements\.lock$", text, re.MULTILINE)
    cmd = re.search(r"^CMD (\[.*\])$", text, re.MULTILINE)
    assert cmd is not None
    check_command(json.loads(cmd.group(1)))
