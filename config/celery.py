"""The Celery app. Tasks get the tenant explicitly (schema name in the arguments), never implicitly."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("rollcall")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["provisioning", "scim_api", "console"])

from provisioning.celery_setup import configure  # noqa: E402  (needs the app configured first)

configure(app)
