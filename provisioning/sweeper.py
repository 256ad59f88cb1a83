"""The safety net: find tenants with pending events, due webhook deliveries or unsent emails and wake a worker.

Cost: one SQL round trip per 200 tenants, each tenant an index probe on three partial indexes
(pending events, due deliveries, unsent emails), so 10,000 tenants are 50 small queries per sweep. Beyond that,
a "tenant has work" marker in the public schema set on commit would make the sweep O(busy tenants).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from django.db import DatabaseError, connection, transaction

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


def _probe(schemas: Sequence[str]) -> list[Backlog]:
    quote = connection.ops.quote_name
    sql = " UNION ALL ".join(_PROBE.format(s=quote(s), cap=PENDING_CAP, grace=EMAIL_GRACE_SECONDS) for s in schemas)
    # Inside a transaction a failed probe would abort it: fence it with a savepoint. Workers run
    # in autocommit, where a failed statement affects nothing else and no savepoint is needed.
    fence = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    with fence, connection.cursor() as cursor:
        cursor.execute(sql, list(schemas))
        return [Backlog(r[0], int(r[1]), bool(r[2]), bool(r[3]), bool(r[4])) for r in cursor.fetchall()]


def scan_backlogs(schemas: Sequence[str], failed: list[str] | None = None) -> list[Backlog]:
    """Pending/ready/due state of each tenant schema, in one query per CHUNK schemas.

    One broken tenant (a schema that is missing or not migrated) fails its chunk's query; that
    chunk is then probed one schema at a time, so every other tenant is still scanned. The broken
    schemas are appended to `failed` (the task reports them; /healthz turns degraded)."""
    found: list[Backlog] = []
    for start in range(0, len(schemas), CHUNK):
        chunk = schemas[start : start + CHUNK]
        try:
            found += _probe(chunk)
            continue
        except DatabaseError:
            pass
        for schema in chunk:
            try:
                found += _probe([schema])
            except DatabaseError as exc:
                log.warning("sweeper: tenant schema %s cannot be scanned (%s)", schema, type(exc).__name__)
                if failed is not None:
                    failed.append(schema)
    return found


@dataclass(frozen=True)
class SweepReport:
    tenants: int
    dispatched: list[str]
    webhooks: list[str]
    emails: list[str]
    failed: list[str] = field(default_factory=list)  # tenant schemas that could not be scanned


def sweep() -> SweepReport:
    """Re-dispatch every ready tenant with pending events; wake senders for due deliveries."""
    tenant_connection().set_schema_to_public()
    tenants = ready_tenants()
    failed: list[str] = []
    backlogs = scan_backlogs([t.schema_name for t in tenants], failed)
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
    return SweepReport(tenants=len(tenants), dispatched=dispatched, webhooks=webhooks, emails=mail, failed=failed)


def for_each_tenant(fn: Callable[[TenantRef], T], failed: list[str] | None = None) -> dict[str, T]:
    """Run `fn` inside every ready tenant's schema; one tenant's failure does not stop the others
    (the failing schemas are appended to `failed`)."""
    results: dict[str, T] = {}
    for tenant in ready_tenants():
        try:
            with tenant_schema(tenant):
                results[tenant.schema_name] = fn(tenant)
        except Exception:
            log.exception("periodic job failed for tenant %s", tenant.schema_name)
            if failed is not None:
                failed.append(tenant.schema_name)
    return results
