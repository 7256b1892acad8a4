"""Test settings: the real settings with a fast hasher, in-memory mail, eager Celery and
API rate limits that the suite itself does not reach."""

from __future__ import annotations

import os

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
# The suite sends thousands of API requests a minute from one address as a few users;
# the rate limits' own tests lower these (frontoffice/tests/test_throttling.py).
os.environ.setdefault("API_THROTTLE_ANON", "100000/min")
os.environ.setdefault("API_THROTTLE_USER", "100000/min")
os.environ.setdefault("API_THROTTLE_AUTH_FAILURES", "100000/min")
# On Redis (the PostgreSQL + Redis run), each test process keeps its cache keys apart:
# pytest-xdist's workers share one Redis, and their databases reuse the same ids (an
# import's progress, the outbox's debounce). Set in the environment, so that the Celery
# workers an integration test starts read and write the same keys as the test.
os.environ.setdefault(
    "CACHE_KEY_PREFIX", f"test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}"
)

from config.settings import *  # noqa: F403
from config.settings import DATABASES, VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# A file, not memory: integration tests start real Celery workers in other processes,
# which must see the same test database. One file per test process, so that two test
# runs from the same checkout never share (and break) each other's database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}

# WhiteNoise scans STATIC_ROOT at start-up; tests serve through the finders, so an
# empty directory is enough to keep it quiet.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
