"""The safety net: find tenants with pending events, due webhook deliveries or unsent emails and wake a worker.

Cost: one SQL round trip per 200 tenants, each tenant an index probe on three partial indexes
(pending events, due deliveries, unsent emails), so 10,000 tenants are 50 small queries per sweep. Beyond that,
a "tenant has work" marker in the public schema set on commit would make the sweep O(busy tenants).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from django.db import connection

from observability import metrics
from outbox.relay import request_dispatch
from provisioning.wakeups import request_outbound
from tenants.context import TenantRef, ready_tenants, tenant_schema
from tenants.db import tenant_connection

log = logging.getLogger(__name__)
CHUNK = 200
PENDING_CAP = 100_000
# Fresh outbox emails are being sent by the normal path; the sweeper only picks up stragglers.
EMAIL_GRACE_SECONDS = 5
T = TypeVar("T")

_PROBE = """
SELECT %s,
  (SELECT count(*) FROM (SELECT 1 FROM {s}.outbox_event WHERE handled_at IS NULL AND parked_at IS NULL
                          LIMIT {cap}) p),
  COALESCE((SELECT retry_at IS NULL OR retry_at <= statement_timestamp() FROM {s}.outbox_event
            WHERE handled_at IS NULL AND parked_at IS NULL ORDER BY seq LIMIT 1), false),
  EXISTS (SELECT 1 FROM {s}.provisioning_webhookdelivery
          WHERE (status IN ('pending', 'retrying') AND next_attempt_at <= statement_timestamp())
             OR (status = 'sending' AND lease_until < statement_timestamp())),
  EXISTS (SELECT 1 FROM {s}.provisioning_outboundemail
          WHERE sent_at IS NULL AND given_up_at IS NULL
            AND next_attempt_at <= statement_timestamp() - interval '{grace} seconds')
"""


@dataclass(frozen=True)
class Backlog:
    schema_name: str
    pending: int
    ready: bool  # the head event is not backing off
    webhooks_due: bool
    emails_due: bool


def scan_backlogs(schemas: Sequence[str]) -> list[Backlog]:
    """Pending/ready/due state of each tenant schema, in one query per CHUNK schemas."""
    found: list[Backlog] = []
    quote = connection.ops.quote_name
    for start in range(0, len(schemas), CHUNK):
        chunk = schemas[start : start + CHUNK]
        sql = " UNION ALL ".join(_PROBE.format(s=quote(s), cap=PENDING_CAP, grace=EMAIL_GRACE_SECONDS) for s in chunk)
        with connection.cursor() as cursor:
            cursor.execute(sql, list(chunk))
            found += [Backlog(r[0], int(r[1]), bool(r[2]), bool(r[3]), bool(r[4])) for r in cursor.fetchall()]
    return found


@dataclass(frozen=True)
class SweepReport:
    tenants: int
    dispatched: list[str]
    webhooks: list[str]
    emails: list[str]


def sweep() -> SweepReport:
    """Re-dispatch every ready tenant with pending events; wake senders for due deliveries."""
    tenant_connection().set_schema_to_public()
    tenants = ready_tenants()
    backlogs = scan_backlogs([t.schema_name for t in tenants])
    dispatched: list[str] = []
    webhooks: list[str] = []
    mail: list[str] = []
    for backlog in backlogs:
        if backlog.pending:
            metrics.EVENTS_PENDING.set(backlog.pending, tenant=backlog.schema_name)
        if backlog.pending and backlog.ready:
            request_dispatch(backlog.schema_name)
            dispatched.append(backlog.schema_name)
        if backlog.webhooks_due or backlog.emails_due:
            request_outbound(backlog.schema_name)
        if backlog.webhooks_due:
            webhooks.append(backlog.schema_name)
        if backlog.emails_due:
            mail.append(backlog.schema_name)
    return SweepReport(tenants=len(tenants), dispatched=dispatched, webhooks=webhooks, emails=mail)


def for_each_tenant(fn: Callable[[TenantRef], T]) -> dict[str, T]:
    """Run `fn` inside every ready tenant's schema; one tenant's failure does not stop the others."""
    results: dict[str, T] = {}
    for tenant in ready_tenants():
        try:
            with tenant_schema(tenant):
                results[tenant.schema_name] = fn(tenant)
        except Exception:
            log.exception("periodic job failed for tenant %s", tenant.schema_name)
    return results
