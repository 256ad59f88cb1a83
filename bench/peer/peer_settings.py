"""Settings of the benchmark peer: a plain Django project serving SCIM through django-scim2.

Configured the way the library documents it (``django_scim`` app, ``SCIM_SERVICE_PROVIDER``,
``path("scim/v2/", include("django_scim.urls"))``) with Django's ``startproject`` defaults
otherwise. The only deliberate choices are the ones shared with Rollcall for fairness: the same
PostgreSQL server and the same database connection settings (persistent connections).

Environment: DATABASE_URL (required), PEER_BENCH_TOKEN, PEER_NETLOC, DB_CONN_MAX_AGE.
"""

from __future__ import annotations

import os

import dj_database_url

DEBUG = False
SECRET_KEY = os.environ.get("PEER_SECRET_KEY", "peer-bench-secret-not-for-production-0123456789abcdef")
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django_scim",
    "bench.peer.peer_app",
]

# Django's startproject stack, plus the bench bearer-token authentication after AuthenticationMiddleware.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "bench.peer.auth.BenchTokenMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "bench.peer.urls"
WSGI_APPLICATION = "bench.peer.wsgi.application"

# Same connection settings as Rollcall's config/settings.py, so neither side pays for
# per-request connection setup while the other does not.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ["DATABASE_URL"],
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "peer_app.PeerUser"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

PEER_BENCH_TOKEN = os.environ.get("PEER_BENCH_TOKEN", "peer-bench-token")

SCIM_SERVICE_PROVIDER = {
    "NETLOC": os.environ.get("PEER_NETLOC", "127.0.0.1"),
    "SCHEME": "http",
    "GROUP_MODEL": "bench.peer.peer_app.models.PeerGroup",
    "AUTHENTICATION_SCHEMES": [
        {
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a bearer token",
        },
    ],
}
