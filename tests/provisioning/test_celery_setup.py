"""Celery wiring: queues, routes, the beat schedule, heartbeats."""

from __future__ import annotations

from celery import Celery

from outbox import queues
from provisioning import celery_setup


def test_configure_installs_queues_routes_and_the_beat_schedule(settings):
    settings.OUTBOX_SWEEP_SECONDS = 7
    settings.ROLLCALL_HEALTH_REFRESH_SECONDS = 11
    app = Celery("probe")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    celery_setup.configure(app)
    celery_setup.configure(app)  # idempotent
    schedule = app.conf.beat_schedule
    assert schedule["sweep-outbox-and-webhook-retries"]["schedule"] == 7.0
    assert schedule["refresh-tenant-health"]["schedule"] == 11.0
    assert {entry["task"] for entry in schedule.values()} == {
        "provisioning.sweep_outbox",
        "scim.check_error_rates",
        "provisioning.check_expiring_tokens",
        "provisioning.expire_agents",
        "provisioning.worker_heartbeat",
        "console.requeue_stale_jobs",
        "console.refresh_tenant_health",
        "console.reconcile_tenant_health",
    }
    assert {q.name for q in app.conf.task_queues} == {"celery", queues.EVENTS_QUEUE, queues.OUTBOUND_QUEUE}
    assert app.conf.task_routes[queues.DISPATCH_TASK] == {"queue": queues.EVENTS_QUEUE}
    assert app.conf.task_acks_late is True


def test_every_scheduled_task_is_registered():
    from config.celery import app

    app.loader.import_default_modules()  # what a worker does at start: autodiscovers every app's tasks

    names = {entry["task"] for entry in celery_setup.beat_schedule(5).values()}
    assert names <= set(app.tasks)
