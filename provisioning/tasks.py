"""Celery tasks: thin entry points. Arguments are strings and ints (they survive a JSON round trip);
each task names its tenant explicitly and calls one service."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

from celery import shared_task

from directory import agents
from observability.activity import mark_tenant_active
from observability.heartbeat import record_heartbeat
from outbox.queues import DISPATCH_TASK, SEND_OUTBOUND_TASK
from provisioning import drain, emails, notifications, sweeper, wakeups
from provisioning.webhooks import delivery
from tenants.context import UnknownTenant, tenant_for_schema, tenant_schema

log = logging.getLogger(__name__)
SEND_BUDGET_SECONDS = 5.0
SEND_BATCH = 50  # deliveries claimed per round
EMAIL_BATCH = 100  # emails sent per transaction
EARLY_DISPATCH_RETRY_MAX_SECONDS = 60.0


@shared_task(name=DISPATCH_TASK, acks_late=True, ignore_result=True)
def dispatch_tenant_events(schema_name: str) -> dict[str, Any]:
    """Handle the tenant's pending events in order (idempotent by (tenant, seq, handler))."""
    result = drain.dispatch_tenant(schema_name)
    if result.more:
        wakeups.schedule_dispatch(schema_name)  # yield to other tenants, then continue
    elif result.failed_now and result.retry_in is not None and result.retry_in <= EARLY_DISPATCH_RETRY_MAX_SECONDS:
        wakeups.schedule_dispatch(schema_name, countdown=result.retry_in)
    return {"handled": result.handled, "failed_seq": result.failed_seq, "locked_out": result.locked_out}


@shared_task(name=SEND_OUTBOUND_TASK, acks_late=True, ignore_result=True)
def send_outbound(schema_name: str, delivery_ids: list[int] | None = None, scheduled: bool = False) -> dict[str, int]:
    """POST the tenant's due webhook deliveries (or just the given ones) and send its outbox emails;
    failed deliveries are rescheduled with backoff."""
    try:
        tenant = tenant_for_schema(schema_name)
    except UnknownTenant:
        return {"sent": 0}
    if scheduled:
        wakeups.clear_request(wakeups.OUTBOUND_RETRY_KEY, schema_name)
    if delivery_ids is None:
        wakeups.clear_request(wakeups.OUTBOUND_KEY, schema_name)  # before claiming: no lost wake-up
    deadline = time.monotonic() + SEND_BUDGET_SECONDS
    totals = {"sent": 0, "failed": 0, "dead": 0, "emails": 0}
    with tenant_schema(tenant):
        while time.monotonic() < deadline:
            report = delivery.deliver(tenant, delivery_ids, limit=SEND_BATCH)
            totals["sent"] += report.succeeded
            totals["failed"] += report.failed
            totals["dead"] += report.dead
            # A short claim took everything that was due: rows committed since then woke a sender
            # of their own (the request key was cleared before claiming), so no empty re-claim.
            if delivery_ids is not None or report.claimed < SEND_BATCH:
                break
        while delivery_ids is None and time.monotonic() < deadline:
            sent = emails.send_pending(limit=EMAIL_BATCH)
            totals["emails"] += sent.sent
            if sent.sent + sent.failed < EMAIL_BATCH:
                break
        # Retries due soon get a wake-up from the run that failed them (and from scheduled runs,
        # which may leave later retries behind); anything else falls to the sweeper.
        retry_in = delivery.next_retry_in() if totals["failed"] or scheduled else None
    if any(totals.values()):
        mark_tenant_active(schema_name)
    if time.monotonic() >= deadline:
        retry_in = 0.01  # more to send: continue after other tenants' work
    if retry_in is not None:
        wakeups.schedule_outbound(schema_name, countdown=retry_in)
    return totals


# Periodic tasks return "failed_tenants": how many tenants the run could not process (the others
# were processed). provisioning.celery_setup records it for /healthz ("degraded" when it persists).


@shared_task(name="provisioning.sweep_outbox", ignore_result=True)
def sweep_outbox() -> dict[str, int]:
    report = sweeper.sweep()
    return {
        "tenants": report.tenants,
        "dispatched": len(report.dispatched),
        "webhooks": len(report.webhooks),
        "emails": len(report.emails),
        "failed_tenants": len(report.failed),
    }


@shared_task(name="provisioning.check_expiring_tokens", ignore_result=True)
def check_expiring_tokens() -> int:
    return notifications.check_expiring_tokens()


@shared_task(name="provisioning.expire_agents", ignore_result=True)
def expire_agents() -> dict[str, int]:
    failed: list[str] = []
    expired = sum(sweeper.for_each_tenant(lambda _tenant: agents.expire_agents(), failed).values())
    return {"expired": expired, "failed_tenants": len(failed)}


@shared_task(name="provisioning.worker_heartbeat", ignore_result=True)
def worker_heartbeat() -> None:
    """Proves the queue -> worker path end to end (the worker's own timer proves the process is alive)."""
    record_heartbeat("worker", f"task@{socket.gethostname()}")
