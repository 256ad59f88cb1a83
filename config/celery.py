"""The Celery app. Tasks get the tenant explicitly (schema name in the arguments), never implicitly."""

from __future__ import annotations

import os
import warnings

from celery import Celery
from celery.signals import worker_ready

from config import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
broker.install()


def _quiet_connection_loss_notice(**_: object) -> None:
    """Celery warns on every broker loss that worker_cancel_long_running_tasks_on_connection_loss will
    default to True in Celery 6; Rollcall sets it explicitly (False, see settings), so the notice only
    adds a 7-line paragraph to the terminal during every Redis blip. Installed once the worker is
    ready, because Celery's logging set-up turns its deprecation warnings back to "always"."""
    warnings.filterwarnings("ignore", message=r"\s*In Celery 5\.1 we introduced an optional breaking change")


worker_ready.connect(_quiet_connection_loss_notice, weak=False)

app = Celery("rollcall")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["provisioning", "scim_api", "console"])

from provisioning.celery_setup import configure  # noqa: E402  (needs the app configured first)

configure(app)
