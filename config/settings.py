"""Frontoffice settings: one module, driven by environment variables only.

Defaults are embedded and need no server (SQLite in WAL mode, a filesystem Celery
broker). `DATABASE_URL` and `REDIS_URL` switch to PostgreSQL and Redis. With
`DEBUG=0`, the production variables are required and start-up stops with a clear
message when one is missing.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import os
import re
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))

env = environ.Env()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    """A strict boolean: `DEBUG=yes please` is a configuration error, not False."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off."
    )


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None


def env_float(name: str, default: float, *, low: float, high: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None
    if not low <= value <= high:
        raise ImproperlyConfigured(f"{name}={raw!r} must be between {low} and {high}.")
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    if raw not in choices:
        raise ImproperlyConfigured(f"{name}={raw!r}: use one of {', '.join(choices)}.")
    return raw


_RATE = re.compile(r"\d+/(s|sec|second|m|min|minute|h|hour|d|day)")


def env_rate(name: str, default: str) -> str:
    """A DRF throttle rate: `60/min`, `1000/hour`, `5/s`."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    if not _RATE.fullmatch(raw.strip()) or int(raw.split("/")[0]) < 1:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a rate; write requests/period, e.g. 60/min.")
    return raw.strip()


def env_secret(name: str, default: str | None = None) -> str | None:
    """Read `NAME`, or the file named by `NAME_FILE` (Docker/Kubernetes secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r}: {exc}") from None
    return os.environ.get(name, default)


def require(name: str, value: str | None) -> str:
    if not value:
        raise ImproperlyConfigured(
            f"{name} must be set when DEBUG is off (see the settings table in README.md)."
        )
    return value


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_secret("SECRET_KEY")
_DEVELOPMENT_SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"  # noqa: S105
_PLACEHOLDER_WORDS = (SECRET_KEY_INSECURE_PREFIX, "change", "example", "placeholder", "not-a-secret")
if not SECRET_KEY:
    if not DEBUG:
        require("SECRET_KEY", SECRET_KEY)
    SECRET_KEY = _DEVELOPMENT_SECRET_KEY
elif not DEBUG and (
    # Django's deploy check (security.W009) only warns; here a short key, or one that reads
    # like a placeholder, stops start-up: it signs sessions and password-reset links, and
    # a key copied from an example lets anyone forge them.
    len(SECRET_KEY) < SECRET_KEY_MIN_LENGTH
    or len(set(SECRET_KEY)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
    or any(word in SECRET_KEY.lower() for word in _PLACEHOLDER_WORDS)
):
    raise ImproperlyConfigured(
        f"SECRET_KEY is too short or looks like a placeholder: use at least {SECRET_KEY_MIN_LENGTH} "
        'random characters, e.g. python -c "import secrets; print(secrets.token_urlsafe(50))".'
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    require("ALLOWED_HOSTS", "")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.postgres",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "simple_history",
    "phonenumber_field",
    "frontoffice",
    "customers",
    "marketing",
    "sales",
    "service",
    "backoffice_sync",
    "backoffice_sync.simulator",
]

MIDDLEWARE = [
    "frontoffice.middleware.RequestIdMiddleware",
    "frontoffice.middleware.HealthCheckMiddleware",  # before any Host check or redirect
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "frontoffice.middleware.SessionIdleTimeoutMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "frontoffice.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.navigation.navigation",
                "csp.context_processors.nonce",
            ],
            # Every template's {% url %} keeps its answer per process (frontoffice/reversing.py).
            "builtins": ["frontoffice.templatetags.kept_urls"],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {
    "default": env.db_url_config(env_secret("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
}
_db = DATABASES["default"]
# Workers and web reuse their connection between tasks/requests; health checks drop a
# connection the server closed instead of failing the next query with it.
_db["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 60)
_db["CONN_HEALTH_CHECKS"] = True
if _db["ENGINE"] == "django.db.backends.sqlite3":
    if _db["NAME"] != ":memory:":
        Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets readers run beside one writer; IMMEDIATE takes the write lock at BEGIN so
    # that web and worker queue on the busy timeout instead of failing with "database is
    # locked" when a read transaction tries to upgrade to a write.
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        **_db.get("OPTIONS", {}),
    }
elif _db["ENGINE"] in {"django.db.backends.postgresql", "django.db.backends.postgresql_psycopg2"}:
    _db["ENGINE"] = "django.db.backends.postgresql"
    # JIT costs ~370 ms on simple counts here; server-side prepared statements make the
    # trigram ILIKE searches plan generically (1,000x slower).
    _db["OPTIONS"] = {"options": "-c jit=off", "prepare_threshold": None, **_db.get("OPTIONS", {})}
DB_VENDOR = "sqlite" if "sqlite" in _db["ENGINE"] else "postgresql"
# The few reads compiled once per process (frontoffice/prepared.py: the token and session
# user lookups, the 360's reads, the timeline's first page) are also prepared on the
# PostgreSQL server, once per connection. Off behind a pooler in transaction mode, which
# does not keep a session's prepared statements.
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)
# A read replica (streaming replication of the same PostgreSQL): reads go there, writes,
# reads inside a transaction and the rest of a request after a write go to the primary
# (frontoffice/db_router.py). Tests point it at the test database (MIRROR).
DATABASE_REPLICA_URL = env_secret("DATABASE_REPLICA_URL", "") or ""
if DATABASE_REPLICA_URL:
    _replica = env.db_url_config(DATABASE_REPLICA_URL)
    if _replica["ENGINE"] in {"django.db.backends.postgresql", "django.db.backends.postgresql_psycopg2"}:
        _replica["ENGINE"] = "django.db.backends.postgresql"
    if _replica["ENGINE"] != _db["ENGINE"]:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL must name the same kind of database as DATABASE_URL."
        )
    _replica.update(
        CONN_MAX_AGE=_db["CONN_MAX_AGE"],
        CONN_HEALTH_CHECKS=True,
        OPTIONS=dict(_db.get("OPTIONS", {})),
        TEST={"MIRROR": "default"},
    )
    DATABASES["replica"] = _replica
    DATABASE_ROUTERS = ["frontoffice.db_router.ReplicaRouter"]
    # Outside the session's middleware: it sees the session saved on the way out.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware"),
        "frontoffice.db_router.ReadYourWritesMiddleware",
    )
# Seconds a browser reads from the primary after a request that wrote (with a replica).
DATABASE_REPLICA_PIN_SECONDS = env_int("DATABASE_REPLICA_PIN_SECONDS", 10)
if DATABASE_REPLICA_PIN_SECONDS < 0:
    raise ImproperlyConfigured("DATABASE_REPLICA_PIN_SECONDS must be 0 or more.")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ------------------------------------------------------------------
REDIS_URL = env_secret("REDIS_URL", "") or ""
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(
        "REDIS_URL must look like redis://host:6379/0 (or rediss://, unix://); "
        f"got {REDIS_URL.split('@')[-1]!r}."  # never echo a password
    )
# Keeps this deployment's cache keys apart from another's in the same Redis (the test
# suite gives each of its processes its own: their databases reuse the same ids).
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="")
if not re.fullmatch(r"[A-Za-z0-9_.:-]{0,50}", CACHE_KEY_PREFIX):
    raise ImproperlyConfigured(
        f"CACHE_KEY_PREFIX={CACHE_KEY_PREFIX[:60]!r}: use up to 50 letters, digits, '_', '.', ':' or '-'."
    )
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }

# --- Auth -------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login lockout (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one
# username from one client address, that pair is refused (429, Retry-After) for
# LOGIN_LOCKOUT_MINUTES, however right the next password. Per username *and* address,
# so that nobody locks a colleague out from elsewhere; the right password resets the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out pair before any check
    # Django's ModelBackend, reading a user's permissions in one query instead of two.
    "frontoffice.auth_backends.OneQueryModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # failures are kept; every successful login is not
AXES_CLIENT_IP_CALLABLE = "frontoffice.throttling.client_ip"
AXES_LOCKOUT_CALLABLE = "frontoffice.throttling.login_locked_out"
AXES_VERBOSE = False
for _name in ("LOGIN_FAILURE_LIMIT", "LOGIN_LOCKOUT_MINUTES"):
    if env_int(_name, 1) < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1.")

# A session ends after SESSION_IDLE_MINUTES without a request (the middleware slides
# the expiry forward at most once a minute, instead of saving the session on every request).
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 120)
if not 1 <= SESSION_IDLE_MINUTES <= 60 * 24 * 30:
    raise ImproperlyConfigured("SESSION_IDLE_MINUTES must be between 1 and 43200 (30 days).")
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
# Django's database sessions, read through a statement compiled once (frontoffice/sessions.py).
SESSION_ENGINE = "frontoffice.sessions"

# Password-reset links stay valid this long (Django's default is three days).
PASSWORD_RESET_TIMEOUT = 60 * 60

# --- I18N -------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
# No translations ship, so Django's translation machinery is off: every lazy string,
# `{% url %}` and date read the active language through a context-local lookup (about
# 200 per 360 page: 1.2 ms of its 9.7 ms in process). The pages are byte-for-byte the
# same (compared over every argument-free URL for each demo user). Dates, numbers and
# Django's messages stay English (the `en` formats).
USE_I18N = False
USE_TZ = True
PHONENUMBER_DEFAULT_REGION = env.str("PHONE_DEFAULT_REGION", default="GB")

# --- Static -----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- E-mail -----------------------------------------------------------------
# Where links in e-mails point (unsubscribe, tracked links): the site as its readers reach it.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
if not SITE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"SITE_URL must start with http:// or https://; got {SITE_URL[:60]!r}.")
_email = env.email_url_config(env_secret("EMAIL_URL") or "consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS", False))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL", False))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="frontoffice@localhost")
# The shared secret the mail provider's inbound hook sends (X-Inbound-Secret); empty: off.
SERVICE_INBOUND_EMAIL_SECRET = env_secret("SERVICE_INBOUND_EMAIL_SECRET") or ""
# Messages to customers a worker hands to the mail server, at most (Celery's rate syntax).
OUTBOUND_EMAIL_RATE_LIMIT = env.str("OUTBOUND_EMAIL_RATE_LIMIT", default="120/m")
if not re.fullmatch(r"[0-9]+(\.[0-9]+)?/[smh]", OUTBOUND_EMAIL_RATE_LIMIT):
    raise ImproperlyConfigured("OUTBOUND_EMAIL_RATE_LIMIT is a rate like 120/m (per s, m or h).")

# --- Security (production) ---------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Probes, and the ERP's webhook: signed, and sent inside the private network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^api/v1/erp/webhook/$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy on every response (django-csp; Django 6 has it built in): our
# own origin only, no inline script or style, no eval. A page that needs an inline
# <style> (the printable quote, self-contained for e-mail and PDF) gives it the nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],  # the favicon is an inline SVG
        "font-src": [SELF],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],  # ReDoc's search index runs in a worker it builds
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- REST API ---------------------------------------------------------------
# Proxies in front of the app whose X-Forwarded-For is trusted to name the client.
NUM_PROXIES = env_int("NUM_PROXIES", 0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "frontoffice.authentication.TokenAuthentication",  # knox, refusing malformed headers with a 401
        "rest_framework.authentication.SessionAuthentication",
    ],
    # JSON only, through a parser that turns every malformed body into a 400/413.
    "DEFAULT_PARSER_CLASSES": ["frontoffice.parsers.JSONParser"],
    "DEFAULT_PERMISSION_CLASSES": ["frontoffice.permissions.ModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "frontoffice.api.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "frontoffice.schema.AutoSchema",
    "EXCEPTION_HANDLER": "frontoffice.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_THROTTLE_CLASSES": [
        "frontoffice.throttling.AnonRateThrottle",
        "frontoffice.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_rate("API_THROTTLE_ANON", "60/min"),
        "user": env_rate("API_THROTTLE_USER", "600/min"),
        "auth_failure": env_rate("API_THROTTLE_AUTH_FAILURES", "20/min"),
    },
    # Proxies in front of the app whose X-Forwarded-For is trusted to name the client
    # (rate limits and the login lockout count per client); 0: REMOTE_ADDR.
    "NUM_PROXIES": NUM_PROXIES,
}
if NUM_PROXIES < 0:
    raise ImproperlyConfigured("NUM_PROXIES must not be negative.")
# API tokens expire after API_TOKEN_TTL_DAYS unless their owner chooses another expiry.
API_TOKEN_TTL_DAYS = env_int("API_TOKEN_TTL_DAYS", 90)
if not 1 <= API_TOKEN_TTL_DAYS <= 3650:
    raise ImproperlyConfigured("API_TOKEN_TTL_DAYS must be between 1 and 3650.")
# Idempotency-Key (API POSTs) and one-time form tokens (pages) are kept this long; a
# retry within it gets the first answer, never a second record.
IDEMPOTENCY_KEY_TTL_HOURS = env_int("IDEMPOTENCY_KEY_TTL_HOURS", 24)
if not 1 <= IDEMPOTENCY_KEY_TTL_HOURS <= 24 * 30:
    raise ImproperlyConfigured("IDEMPOTENCY_KEY_TTL_HOURS must be between 1 and 720.")
# Named here because migrations that point at knox's tokens (frontoffice 0002) refer to it.
KNOX_TOKEN_MODEL = "knox.AuthToken"  # noqa: S105 - a model's name, not a secret
REST_KNOX = {
    "TOKEN_TTL": dt.timedelta(days=API_TOKEN_TTL_DAYS),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
# The OpenAPI document as written at build time by `manage.py spectacular --format
# openapi-json --file ...` (the image does); empty: built on first request, once per process.
API_SCHEMA_FILE = env.str("API_SCHEMA_FILE", default="")
SPECTACULAR_SETTINGS = {
    "TITLE": "Frontoffice API",
    "DESCRIPTION": "The integrated front-office CRM: customers, marketing, sales, service "
    "and back-office sync. Authenticate with `Authorization: Token <token>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Choice sets that share a field name (`kind`, `channel`) are named by their apps'
    # hooks (`api_enums`), so that the schema is stable and `check --deploy` silent.
    "ENUM_NAME_OVERRIDES": {},
}

# --- Celery -----------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Longer than the longest task (hard limit below): Redis redelivers an unacked task
    # after this, so a shorter timeout would run long tasks twice.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 3600}
else:
    # The embedded broker: messages are files in VAR_DIR/broker, shared by web, worker
    # and beat on one machine. `atomicfs` is kombu's file-system transport made safe for
    # several processes (frontoffice/broker.py): a message file is only ever seen whole.
    CELERY_BROKER_URL = "atomicfs://localhost//"
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Exchange tables (remote control, events); kombu's default is ./control in
        # whatever directory the process happens to start in.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # Folders are polled (kombu's default: every second); 0.2 s keeps the latency
        # of on-commit tasks low for the price of listing a small folder more often.
        "polling_interval": 0.2,
    }
    # Web publishes before any worker may have started: the folders must exist for both.
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fix-up closes the database connection before and after every task
# unless this is set (it then closes only every N tasks); between those, the worker
# keeps its connection as CONN_MAX_AGE says (see config/celery.py).
CELERY_DB_REUSE_MAX = 1000
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The beat schedule is every app's `periodic_tasks` (their hooks), installed by this
# scheduler when beat starts (config/celery.py).
CELERY_BEAT_SCHEDULER = "config.celery:AppsScheduler"

# --- Integrations ------------------------------------------------------------
ERP_ADAPTER = env_choice("ERP_ADAPTER", "stub", ("stub", "http"))
ERP_URL = env.str("ERP_URL", default="http://127.0.0.1:8765")
if ERP_ADAPTER == "http" and not ERP_URL:
    require("ERP_URL", ERP_URL)
ERP_TIMEOUT_SECONDS = env_int("ERP_TIMEOUT_SECONDS", 10)
# Standard Webhooks secret shared with the ERP ("whsec_" + base64); signs the ERP's
# webhooks to us. The development default is public: production must set its own.
ERP_WEBHOOK_SECRET = env_secret("ERP_WEBHOOK_SECRET") or (
    "whsec_ZnJvbnRvZmZpY2UtZGV2ZWxvcG1lbnQtd2ViaG9vay1zZWNyZXQ=" if DEBUG else ""
)
if not DEBUG:
    require("ERP_WEBHOOK_SECRET", ERP_WEBHOOK_SECRET)
try:
    if len(base64.b64decode(ERP_WEBHOOK_SECRET.removeprefix("whsec_"), validate=True)) < 24:
        raise ValueError
except (binascii.Error, ValueError):
    raise ImproperlyConfigured(
        "ERP_WEBHOOK_SECRET must be 'whsec_' followed by at least 24 random bytes in base64 "
        '(make one with: python -c "import base64, secrets; '
        "print('whsec_' + base64.b64encode(secrets.token_bytes(32)).decode())\")."
    ) from None
# Where the simulator sends its webhooks (the app's /api/v1/erp/webhook/); empty: none.
ERP_WEBHOOK_URL = env.str("ERP_WEBHOOK_URL", default="")
# The ERP's fulfilment times, one model for both sides: available-to-promise adds them to
# the day the goods are available, and the simulator (standing for the ERP) keeps them.
# Dispatch: from the day the ERP receives an order to shipping what it holds in stock;
# transit: from shipping to delivery.
ERP_DISPATCH_DAYS = env_int("ERP_DISPATCH_DAYS", 1)
ERP_TRANSIT_DAYS = env_int("ERP_TRANSIT_DAYS", 2)
for _name in ("ERP_DISPATCH_DAYS", "ERP_TRANSIT_DAYS"):
    if not 0 <= globals()[_name] <= 30:
        raise ImproperlyConfigured(f"{_name} must be between 0 and 30 (days).")
# The outbox relay: messages per ERP call, and the ERP's refusals of one message before
# it is dead-lettered (an unavailable ERP spends none: the circuit breaker waits it out).
OUTBOX_BATCH_SIZE = env_int("OUTBOX_BATCH_SIZE", 200)
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 8)
# Relay tasks that may drain the outbox at once (each on its own worker process); their
# leases keep each aggregate with one relay at a time.
OUTBOX_RELAY_CONCURRENCY = env_int("OUTBOX_RELAY_CONCURRENCY", 2)
# The circuit breaker: while the ERP is unavailable, one probe after BASE seconds, then
# doubling up to CAP; the operators are alerted (log at ERROR, a notice in the app) once
# it has been unreachable for ERP_UNREACHABLE_ALERT_SECONDS.
ERP_PROBE_BASE_SECONDS = env_float("ERP_PROBE_BASE_SECONDS", 2.0, low=0.01, high=3600.0)
ERP_PROBE_CAP_SECONDS = env_float("ERP_PROBE_CAP_SECONDS", 30.0, low=0.01, high=3600.0)
ERP_UNREACHABLE_ALERT_SECONDS = env_float("ERP_UNREACHABLE_ALERT_SECONDS", 300.0, low=0.0, high=7 * 86400.0)
# The simulator's seed and fault knobs (the admin and tests change them at run time).
ERP_SIMULATOR_SEED = env_int("ERP_SIMULATOR_SEED", 7)
# With ERP_ADAPTER=stub, beat moves the in-process simulator's clock up to the wall clock
# every minute, by at most this many hours (after a pause it catches up over a few
# minutes): demo orders ship, get invoiced and paid as real time passes, and no ERP fact
# is ever dated after now. 0 stops its clock.
ERP_SIMULATOR_TICK_HOURS = env_float("ERP_SIMULATOR_TICK_HOURS", 6.0, low=0.0, high=24 * 30)
ERP_FAULT_LATENCY_MS = env_int("ERP_FAULT_LATENCY_MS", 0)
ERP_FAULT_ERROR_RATE = env_float("ERP_FAULT_ERROR_RATE", 0.0, low=0.0, high=1.0)
ERP_FAULT_OUTAGE = env_bool("ERP_FAULT_OUTAGE", False)
ERP_FAULT_DUPLICATE_RATE = env_float("ERP_FAULT_DUPLICATE_RATE", 0.0, low=0.0, high=1.0)
ERP_FAULT_REORDER_RATE = env_float("ERP_FAULT_REORDER_RATE", 0.0, low=0.0, high=1.0)
for _name in ("ERP_TIMEOUT_SECONDS", "OUTBOX_BATCH_SIZE", "OUTBOX_MAX_ATTEMPTS", "OUTBOX_RELAY_CONCURRENCY"):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1.")
if ERP_PROBE_CAP_SECONDS < ERP_PROBE_BASE_SECONDS:
    raise ImproperlyConfigured("ERP_PROBE_CAP_SECONDS must not be below ERP_PROBE_BASE_SECONDS.")
if ERP_FAULT_LATENCY_MS < 0:
    raise ImproperlyConfigured("ERP_FAULT_LATENCY_MS must not be negative.")

# --- Logging ----------------------------------------------------------------
LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "frontoffice.request_context.RequestIdFilter"}},
    "formatters": {
        "line": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "line",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "frontoffice.requests": {"level": "INFO"},
        "axes": {"level": "WARNING"},  # lockouts; not a line per successful login
    },
}

# --- Customer profile --------------------------------------------------------
# Similarity (0..1) above which two names are offered as duplicate candidates.
DUPLICATE_NAME_SIMILARITY = env_float("DUPLICATE_NAME_SIMILARITY", 0.6, low=0.0, high=1.0)
