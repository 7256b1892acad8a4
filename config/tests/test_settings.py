"""Settings come from the environment only, refuse malformed values, and pass the deploy check.

Each case boots the real settings module in a fresh process with a controlled
environment, as a container would.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)


def _env(tmp_path: Path, **variables: str) -> dict[str, str]:
    """A clean environment: nothing leaks in from the developer's shell or pytest."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONDONTWRITEBYTECODE": "1",
        **variables,
    }


def _production(tmp_path: Path, **variables: str) -> dict[str, str]:
    production = {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "crm.example.com",
        "ERP_WEBHOOK_SECRET": "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    return _env(tmp_path, **(production | variables))


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _settings_in(env: dict[str, str], *names: str) -> dict:
    """The named settings as another process would see them (JSON-encodable parts)."""
    code = textwrap.dedent(
        f"""
        import json, django
        from django.conf import settings
        django.setup()
        print(json.dumps({{name: getattr(settings, name) for name in {list(names)!r}}}, default=str))
        """
    )
    done = subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _assert_refused(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode != 0, done.stdout
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: "), done.stderr
    for fragment in fragments:
        assert fragment in last_line


def test_it_refuses_to_start_when_debug_is_not_a_boolean(tmp_path: Path) -> None:
    # given
    env = _env(tmp_path, DEBUG="yes please")

    # when
    done = _manage(env, "check")

    # then
    _assert_refused(done, "DEBUG='yes please' is not a boolean")


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    # given
    env = _production(tmp_path)
    del env["SECRET_KEY"]

    # when
    done = _manage(env, "check")

    # then
    _assert_refused(done, "SECRET_KEY must be set")


@pytest.mark.parametrize(
    "key",
    [
        "short-but-random-Zq8x",
        "django-insecure-development-only-key-do-not-use-in-production",
        "please-change-me-before-going-live-0123456789abcdefghij",
        "x" * 64,
        "collectstatic-only-not-a-secret-but-long-enough-to-pass-a-length-test",
    ],
    ids=["short", "development-default", "change-me", "one-character", "not-a-secret"],
)
def test_production_refuses_to_start_with_a_short_or_placeholder_secret_key(tmp_path: Path, key: str) -> None:
    # given
    env = _production(tmp_path, SECRET_KEY=key)

    # when
    done = _manage(env, "check")

    # then
    _assert_refused(done, "SECRET_KEY is too short or looks like a placeholder")


def test_development_runs_with_its_embedded_key(tmp_path: Path) -> None:
    # given
    env = _env(tmp_path, DEBUG="1")

    # when
    seen = _settings_in(env, "SECRET_KEY")

    # then
    assert seen["SECRET_KEY"].startswith("django-insecure-")


def test_production_refuses_to_start_without_allowed_hosts(tmp_path: Path) -> None:
    # given
    env = _production(tmp_path)
    del env["ALLOWED_HOSTS"]

    # when
    done = _manage(env, "check")

    # then
    _assert_refused(done, "ALLOWED_HOSTS must be set")


def test_production_refuses_to_start_without_a_webhook_secret(tmp_path: Path) -> None:
    # given
    env = _production(tmp_path)
    del env["ERP_WEBHOOK_SECRET"]

    # when
    done = _manage(env, "check")

    # then
    _assert_refused(done, "ERP_WEBHOOK_SECRET must be set")


@pytest.mark.parametrize(
    "database_url",
    ["sqlite-file", "postgres://crm:secret@db.internal:5432/frontoffice"],
    ids=["sqlite", "postgresql"],
)
def test_the_deploy_check_is_silent_with_production_variables(tmp_path: Path, database_url: str) -> None:
    # given
    if database_url == "sqlite-file":
        database_url = f"sqlite:///{tmp_path / 'prod.sqlite3'}"
    env = _production(
        tmp_path,
        DATABASE_URL=database_url,
        REDIS_URL="redis://redis.internal:6379/0",
        EMAIL_URL="smtp+tls://mailer:secret@smtp.example.com:587",
        CSRF_TRUSTED_ORIGINS="https://crm.example.com",
    )

    # when
    done = _manage(env, "check", "--deploy", "--fail-level", "WARNING")

    # then
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues (0 silenced)." in done.stdout
    assert "WARNING" not in done.stderr


def test_the_secret_key_can_come_from_a_file(tmp_path: Path) -> None:
    # given
    key = secrets.token_urlsafe(60)
    key_file = tmp_path / "secret_key"
    key_file.write_text(key + "\n")
    env = _production(tmp_path, SECRET_KEY_FILE=str(key_file))
    del env["SECRET_KEY"]

    # when
    seen = _settings_in(env, "SECRET_KEY")
    deploy_check = _manage(env, "check", "--deploy", "--fail-level", "WARNING")

    # then
    assert seen["SECRET_KEY"] == key
    assert deploy_check.returncode == 0, deploy_check.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CONN_MAX_AGE", "abc", "CONN_MAX_AGE='abc' is not an integer"),
        ("SECURE_HSTS_SECONDS", "1y", "SECURE_HSTS_SECONDS='1y' is not an integer"),
        ("ERP_ADAPTER", "bogus", "ERP_ADAPTER='bogus': use one of stub, http"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL='LOUD'"),
        ("DUPLICATE_NAME_SIMILARITY", "high", "DUPLICATE_NAME_SIMILARITY='high' is not a number"),
        ("DUPLICATE_NAME_SIMILARITY", "7", "must be between 0.0 and 1.0"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL must look like redis://"),
        ("CACHE_KEY_PREFIX", "two words", "CACHE_KEY_PREFIX='two words': use up to 50 letters"),
        ("SECRET_KEY_FILE", "/nonexistent/secret", "SECRET_KEY_FILE='/nonexistent/secret'"),
        ("ERP_WEBHOOK_SECRET", "hunter2", "ERP_WEBHOOK_SECRET must be 'whsec_' followed by"),
        ("ERP_FAULT_ERROR_RATE", "2", "ERP_FAULT_ERROR_RATE='2' must be between 0.0 and 1.0"),
        ("OUTBOX_MAX_ATTEMPTS", "0", "OUTBOX_MAX_ATTEMPTS must be at least 1"),
        ("ERP_DISPATCH_DAYS", "-1", "ERP_DISPATCH_DAYS must be between 0 and 30"),
        ("ERP_DISPATCH_DAYS", "one", "ERP_DISPATCH_DAYS='one' is not an integer"),
        ("ERP_TRANSIT_DAYS", "31", "ERP_TRANSIT_DAYS must be between 0 and 30"),
        ("API_THROTTLE_USER", "lots", "API_THROTTLE_USER='lots' is not a rate"),
        ("API_THROTTLE_ANON", "0/min", "API_THROTTLE_ANON='0/min' is not a rate"),
        ("API_THROTTLE_AUTH_FAILURES", "5/fortnight", "API_THROTTLE_AUTH_FAILURES='5/fortnight'"),
        ("NUM_PROXIES", "-1", "NUM_PROXIES must not be negative"),
        ("LOGIN_FAILURE_LIMIT", "0", "LOGIN_FAILURE_LIMIT must be at least 1"),
        ("API_TOKEN_TTL_DAYS", "0", "API_TOKEN_TTL_DAYS must be between 1 and 3650"),
        ("SESSION_IDLE_MINUTES", "0", "SESSION_IDLE_MINUTES must be between 1 and 43200"),
        ("LOGIN_LOCKOUT_MINUTES", "soon", "LOGIN_LOCKOUT_MINUTES='soon' is not an integer"),
    ],
)
def test_a_malformed_variable_stops_start_up_naming_it(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    # given
    env = _production(tmp_path, **{variable: value})

    # when
    done = _manage(env, "check")

    # then
    _assert_refused(done, message)


def test_the_rate_limits_and_the_login_lockout_come_from_the_environment(tmp_path: Path) -> None:
    # given
    env = _production(
        tmp_path,
        API_THROTTLE_USER="5/s",
        API_THROTTLE_ANON="100/hour",
        API_THROTTLE_AUTH_FAILURES="3/min",
        NUM_PROXIES="1",
        LOGIN_FAILURE_LIMIT="4",
        LOGIN_LOCKOUT_MINUTES="30",
    )

    # when
    seen = _settings_in(env, "REST_FRAMEWORK", "AXES_FAILURE_LIMIT", "AXES_COOLOFF_TIME")

    # then
    assert seen["REST_FRAMEWORK"]["DEFAULT_THROTTLE_RATES"] == {
        "user": "5/s",
        "anon": "100/hour",
        "auth_failure": "3/min",
    }
    assert seen["REST_FRAMEWORK"]["NUM_PROXIES"] == 1
    assert seen["AXES_FAILURE_LIMIT"] == 4
    assert seen["AXES_COOLOFF_TIME"] == "0:30:00"


def test_the_erp_fulfilment_times_are_read_at_both_ends_of_their_range(tmp_path: Path) -> None:
    # given
    env = _production(tmp_path, ERP_DISPATCH_DAYS="0", ERP_TRANSIT_DAYS="30")

    # when
    seen = _settings_in(env, "ERP_DISPATCH_DAYS", "ERP_TRANSIT_DAYS")

    # then
    assert seen == {"ERP_DISPATCH_DAYS": 0, "ERP_TRANSIT_DAYS": 30}


def test_a_postgres_database_url_turns_jit_off_and_keeps_connections(tmp_path: Path) -> None:
    # given
    env = _env(tmp_path, DEBUG="1", DATABASE_URL="postgres://crm@db.internal:5432/frontoffice")

    # when
    database = _settings_in(env, "DATABASES")["DATABASES"]["default"]

    # then
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert "-c jit=off" in database["OPTIONS"]["options"]
    assert database["CONN_MAX_AGE"] == 60
    assert database["CONN_HEALTH_CHECKS"] is True


@pytest.mark.django_db
def test_the_live_database_connection_is_tuned_for_its_engine() -> None:
    # given: the database this suite runs on (SQLite file by default, PostgreSQL in CI)

    # when / then
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW jit")
            assert cursor.fetchone()[0] == "off"
        else:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
            cursor.execute("PRAGMA busy_timeout")
            assert cursor.fetchone()[0] >= 5000


_WRITER = textwrap.dedent(
    """
    import os, sys, time, django
    django.setup()
    from django.db import connection, transaction
    from customers.models import Tag

    prefix = sys.argv[1]
    start_at = float(sys.argv[2])
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        print("journal_mode", cursor.fetchone()[0], flush=True)
    time.sleep(max(0.0, start_at - time.time()))
    for i in range(200):
        # Read, then write: in a DEFERRED transaction this upgrade fails at once with
        # "database is locked" when the other process has written in between.
        with transaction.atomic():
            Tag.objects.filter(name__startswith=prefix).count()
            Tag.objects.create(name=f"{prefix}-{i}")
    print("done", Tag.objects.filter(name__startswith=prefix).count(), flush=True)
    """
)


def test_two_processes_writing_one_sqlite_file_never_see_database_is_locked(tmp_path: Path) -> None:
    # given: a fresh file database, as `make run` uses, shared by two processes
    env = _env(tmp_path, DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'shared.sqlite3'}")
    migrated = _manage(env, "migrate", "--noinput", "-v", "0")
    assert migrated.returncode == 0, migrated.stderr
    start_at = str(time.time() + 3)  # both past Django's start-up before writing

    # when
    writers = [
        subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
            [sys.executable, "-c", _WRITER, prefix, start_at],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for prefix in ("web", "worker")
    ]
    outputs = [writer.communicate(timeout=180) for writer in writers]

    # then
    for writer, (stdout, stderr) in zip(writers, outputs, strict=True):
        assert "database is locked" not in stderr
        assert writer.returncode == 0, stderr
        assert "journal_mode wal" in stdout
        assert "done 200" in stdout


@pytest.mark.parametrize("redis", ["", "redis://redis.internal:6379/0"], ids=["in-process", "redis"])
def test_the_cache_keeps_its_keys_under_the_prefix_it_is_given(tmp_path: Path, redis: str) -> None:
    # given: two deployments of the same settings, one with a prefix
    def cache(**variables: str) -> dict[str, str]:
        env = _env(tmp_path, DEBUG="1", REDIS_URL=redis, **variables)
        return dict(_settings_in(env, "CACHES")["CACHES"]["default"])

    plain, blue = cache(), cache(CACHE_KEY_PREFIX="blue")
    # then: the same cache, each under its own prefix
    assert blue["BACKEND"] == plain["BACKEND"]
    assert (plain["KEY_PREFIX"], blue["KEY_PREFIX"]) == ("", "blue")


def test_each_test_process_has_its_own_cache_prefix_which_its_subprocesses_inherit(tmp_path: Path) -> None:
    # given: the test settings in two pytest-xdist workers
    def prefix(worker: str) -> str:
        env = _env(tmp_path, DJANGO_SETTINGS_MODULE="config.settings_test", PYTEST_XDIST_WORKER=worker)
        return str(_settings_in(env, "CACHE_KEY_PREFIX")["CACHE_KEY_PREFIX"])

    gw0, gw1 = prefix("gw0"), prefix("gw1")
    # then: apart (two databases reuse the same ids, one Redis); this process's is in its
    # environment, where the Celery workers an integration test starts read it
    assert gw0.startswith("test-gw0-")
    assert gw1.startswith("test-gw1-")
    assert os.environ["CACHE_KEY_PREFIX"] == settings.CACHE_KEY_PREFIX != ""
