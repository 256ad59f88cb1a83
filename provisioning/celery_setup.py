"""Celery wiring for the pipeline: queues, routes, the beat schedule, worker and beat heartbeats.

config/celery.py calls `configure(app)` once. Idempotent.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

from celery import Celery
from celery.signals import (
    beat_init,
    task_failure,
    task_postrun,
    task_prerun,
    task_success,
    worker_ready,
    worker_shutdown,
)

from outbox.queues import (
    DEFAULT_QUEUE,
    DISPATCH_TASK,
    EVENTS_QUEUE,
    OUTBOUND_QUEUE,
    QUEUES,
    SEND_OUTBOUND_TASK,
)

log = logging.getLogger(__name__)
HEARTBEAT_INTERVAL_SECONDS = 15.0

_heartbeat_stop = threading.Event()
_heartbeat_threads: dict[str, threading.Thread] = {}


def beat_schedule(sweep_seconds: float, health_seconds: float = 30.0) -> dict[str, dict[str, Any]]:
    """Periodic jobs. `expires` drops runs that queued up while no worker was alive."""

    def every(task: str, seconds: float) -> dict[str, Any]:
        return {"task": task, "schedule": seconds, "options": {"expires": max(seconds, 5.0)}}

    return {
        # Re-dispatches tenants with pending events and wakes senders for due webhook retries.
        "sweep-outbox-and-webhook-retries": every("provisioning.sweep_outbox", sweep_seconds),
        "check-error-rates": every("scim.check_error_rates", 60.0),
        "check-expiring-tokens": every("provisioning.check_expiring_tokens", 3600.0),
        "expire-agents": every("provisioning.expire_agents", 60.0),
        "worker-heartbeat": every("provisioning.worker_heartbeat", 20.0),
        # The console backend's jobs (named, not imported: the console sits above the pipeline).
        "requeue-stale-jobs": every("console.requeue_stale_jobs", 60.0),
        "refresh-tenant-health": every("console.refresh_tenant_health", health_seconds),
        "reconcile-tenant-health": every("console.reconcile_tenant_health", 300.0),
    }


def _apply_conf(app: Celery) -> None:
    from django.conf import settings

    app.conf.task_default_queue = DEFAULT_QUEUE
    app.conf.task_default_exchange = DEFAULT_QUEUE
    app.conf.task_default_routing_key = DEFAULT_QUEUE
    # Workers started without -Q consume all three; dispatch and outbound sends (webhooks, mail) can
    # also get pools of their own. Every queue has its own exchange (see outbox.queues.QUEUES).
    app.conf.task_queues = tuple(QUEUES.values())
    app.conf.task_routes = {
        DISPATCH_TASK: {"queue": EVENTS_QUEUE},
        SEND_OUTBOUND_TASK: {"queue": OUTBOUND_QUEUE},
    }
    schedule = beat_schedule(float(settings.OUTBOX_SWEEP_SECONDS), float(settings.ROLLCALL_HEALTH_REFRESH_SECONDS))
    app.conf.beat_schedule = {**schedule, **(app.conf.beat_schedule or {})}


def configure(app: Celery) -> None:
    """Install queues, routes, beat schedule and heartbeat signals on `app` (once)."""
    if getattr(app, "_rollcall_pipeline_configured", False):
        return
    app._rollcall_pipeline_configured = True  # type: ignore[attr-defined]
    if app.configured:
        _apply_conf(app)
    else:
        app.on_after_configure.connect(lambda sender, **_: _apply_conf(sender), weak=False)
    worker_ready.connect(_on_worker_ready, weak=False)
    task_prerun.connect(_close_old_connections, weak=False)
    task_postrun.connect(_close_old_connections, weak=False)
    worker_shutdown.connect(_on_shutdown, weak=False)
    beat_init.connect(_on_beat_init, weak=False)
    task_success.connect(_on_task_success, weak=False)
    task_failure.connect(_on_task_failure, weak=False)


def _periodic_task_names() -> set[str]:
    return {entry["task"] for entry in beat_schedule(60.0).values()}


def _on_task_success(sender: Any = None, result: Any = None, **_: Any) -> None:
    """A periodic run that could not process some tenants counts as failed (see tasks.py)."""
    name = getattr(sender, "name", "")
    if name in _periodic_task_names():
        from observability.periodic import record_periodic_run

        failed = int(result.get("failed_tenants", 0)) if isinstance(result, dict) else 0
        record_periodic_run(name, failed_tenants=failed)


def _on_task_failure(sender: Any = None, exception: BaseException | None = None, **_: Any) -> None:
    name = getattr(sender, "name", "")
    if name in _periodic_task_names():
        from observability.periodic import record_periodic_run

        record_periodic_run(name, error=type(exception).__name__ if exception else "error")


def _close_old_connections(sender: Any = None, **_: Any) -> None:
    """Around every task, what Django does around every request: close a connection that errored,
    was left in a transaction or outlived CONN_MAX_AGE (and health-check it on next use), keep the
    rest. Celery's own fixup would close every connection (CELERY_DB_REUSE_MAX in settings stops
    that), and a new PostgreSQL connection per task was the biggest fixed cost of a dispatch."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


def _beat(kind: str, name: str) -> None:
    from observability.heartbeat import record_heartbeat

    while True:
        try:
            record_heartbeat(kind, name)
        except Exception:  # Redis down: /healthz will say so; keep trying
            log.warning("heartbeat %s:%s not recorded", kind, name, exc_info=True)
        if _heartbeat_stop.wait(HEARTBEAT_INTERVAL_SECONDS):
            return


def start_heartbeat(kind: str, name: str) -> None:
    """A daemon thread recording `kind:name` every HEARTBEAT_INTERVAL_SECONDS while the process lives."""
    key = f"{kind}:{name}"
    if key in _heartbeat_threads and _heartbeat_threads[key].is_alive():
        return
    _heartbeat_stop.clear()
    thread = threading.Thread(target=_beat, args=(kind, name), name=f"rollcall-heartbeat-{kind}", daemon=True)
    _heartbeat_threads[key] = thread
    thread.start()


def _on_worker_ready(sender: Any = None, **_: Any) -> None:
    start_heartbeat("worker", str(getattr(sender, "hostname", None) or socket.gethostname()))


def _on_beat_init(sender: Any = None, **_: Any) -> None:
    start_heartbeat("beat", socket.gethostname())


def _on_shutdown(**_: Any) -> None:
    _heartbeat_stop.set()
