"""Webhook deliveries: fan-out, signed sends, backoff with jitter, dead letters.

Every handled event gets one WebhookDelivery per matching endpoint, written in the event's
transaction (so a redelivered event never fans out twice). Sending happens later, in separate tasks,
so a slow or failing endpoint never holds up the tenant's ordered queue. Delivery is at-least-once:
receivers dedupe by the `id` ("<tenant>:<seq>").
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from observability.metrics import WEBHOOK_DELIVERIES
from observability.metrics import record as record_metrics
from outbox.envelope import envelope_bytes, event_id
from outbox.models import Event
from provisioning.backoff import backoff_seconds
from provisioning.models import Notification, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from provisioning.notifications import raise_notification
from provisioning.tunables import PipelineConfig, pipeline_config
from provisioning.webhooks import signing
from provisioning.webhooks.endpoints import signing_secrets
from provisioning.webhooks.http import HttpResult, client_for_this_thread
from tenants.context import TenantRef

EARLY_RETRY_MAX_SECONDS = 60.0
# Outcomes are written in one transaction per this many attempts (a crash re-sends at most these).
RECORD_EVERY = 50
Status = WebhookDelivery.Status


# --------------------------------------------------------------------------- fan-out


def deliveries_for(
    *, seq: int, event_type: str, committed_at: datetime, endpoints: Sequence[WebhookEndpoint]
) -> list[WebhookDelivery]:
    """The (unsaved) deliveries of one event: one per active endpoint that wants its type."""
    return [
        WebhookDelivery(endpoint=e, event_seq=seq, event_type=event_type, event_committed_at=committed_at)
        for e in endpoints
        if e.wants(event_type)
    ]


def insert_deliveries(rows: Sequence[WebhookDelivery]) -> list[int]:
    """Write deliveries (in the transaction of the events they belong to). Returns their ids."""
    if not rows:
        return []
    return [d.pk for d in WebhookDelivery.objects.bulk_create(rows, batch_size=500)]


def event_body(tenant: TenantRef, event: Event) -> bytes:
    """The JSON a receiver gets: the event's envelope (as the Events API serves it), identical on every retry."""
    return envelope_bytes(tenant.slug, event)


def signed_headers(tenant: TenantRef, event: Event, body: bytes, secrets_: Sequence[str], timestamp: int) -> dict[str, str]:
    signatures = ",".join(f"v1={signing.signature(s, timestamp, body)}" for s in secrets_)
    return {
        signing.SIGNATURE_HEADER: f"t={timestamp},{signatures}",
        "Rollcall-Event-Id": event_id(tenant.slug, event.seq),
        "Rollcall-Event-Seq": str(event.seq),
        "Rollcall-Event-Type": event.type,
    }


# --------------------------------------------------------------------------- sending


def retry_delay(attempt: int, conf: PipelineConfig, rng: random.Random | None = None) -> float:
    """Seconds before a failed delivery's next attempt (jittered so failures do not retry in lockstep)."""
    return backoff_seconds(attempt, base=conf.webhook_retry_base, cap=conf.webhook_retry_cap, jitter=True, rng=rng)


_CLAIM_SQL = """
UPDATE provisioning_webhookdelivery SET status = 'sending', lease_until = %(lease)s
WHERE id IN (
    SELECT id FROM provisioning_webhookdelivery
    WHERE ((status IN ('pending', 'retrying') AND next_attempt_at <= %(now)s)
           OR (status = 'sending' AND lease_until < %(now)s))
      AND (%(ids)s::bigint[] IS NULL OR id = ANY(%(ids)s::bigint[]))
    ORDER BY event_seq, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
RETURNING id
"""


def claim_deliveries(ids: Sequence[int] | None, *, limit: int, conf: PipelineConfig) -> list[WebhookDelivery]:
    """Lease due deliveries to this sender in one statement, skipping rows another sender holds.
    The lease covers the whole batch; an expired lease makes a crashed sender's rows due again."""
    now = timezone.now()
    lease = now + timedelta(seconds=30 + limit * (conf.webhook_timeout + 1))
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, {"lease": lease, "now": now, "ids": list(ids) if ids is not None else None, "limit": limit})
        locked = [row[0] for row in cursor.fetchall()]
    if not locked:
        return []
    return list(WebhookDelivery.objects.filter(id__in=locked).select_related("endpoint").order_by("event_seq", "id"))


@dataclass
class DeliveryReport:
    claimed: int = 0
    succeeded: int = 0
    failed: int = 0
    dead: int = 0
    retry_in: float | None = None  # seconds until the earliest retry this run scheduled

    def note_retry(self, delay: float) -> None:
        self.retry_in = delay if self.retry_in is None else min(self.retry_in, delay)


def deliver(tenant: TenantRef, ids: Sequence[int] | None = None, *, limit: int = 50) -> DeliveryReport:
    """Send the given (or all due) deliveries of the current tenant schema and record the outcomes."""
    conf = pipeline_config()
    report = DeliveryReport()
    claimed = claim_deliveries(ids, limit=limit, conf=conf)
    report.claimed = len(claimed)
    if not claimed:
        return report
    events = Event.objects.in_bulk([d.event_seq for d in claimed])
    client = client_for_this_thread(timeout=conf.webhook_timeout, allow_private=conf.webhook_allow_private)
    results: list[tuple[WebhookDelivery, HttpResult, datetime]] = []
    try:
        for delivery in claimed:
            event = events.get(delivery.event_seq)
            now = timezone.now()
            if event is None:
                result = HttpResult(None, "event no longer stored", 0.0)
            elif not delivery.endpoint.active:
                result = HttpResult(None, "endpoint disabled", 0.0)
            else:
                body = event_body(tenant, event)
                headers = signed_headers(
                    tenant, event, body, signing_secrets(delivery.endpoint, now, conf), int(now.timestamp())
                )
                result = client.post(delivery.endpoint.url, body, headers)
            results.append((delivery, result, now))
            if len(results) >= RECORD_EVERY:
                record_results(tenant, results, conf=conf, report=report)
                results = []
    finally:
        if results:
            record_results(tenant, results, conf=conf, report=report)
    return report


def record_results(
    tenant: TenantRef,
    results: Sequence[tuple[WebhookDelivery, HttpResult, datetime]],
    *,
    conf: PipelineConfig,
    report: DeliveryReport,
) -> None:
    """Write a run of attempts in one transaction: the attempt log, each delivery's new state, and
    per endpoint its consecutive-failure count (alerting when it crosses the threshold)."""
    outcomes: dict[str, float] = {}
    with transaction.atomic():
        WebhookAttempt.objects.bulk_create(
            WebhookAttempt(
                delivery=d, attempted_at=at, duration_ms=r.duration_ms, status_code=r.status_code, error=r.error
            )
            for d, r, at in results
        )
        succeeded: dict[int | None, list[int]] = {}
        # endpoint -> (a success reset the streak, failures after the last success, last delivery, error)
        streaks: dict[uuid.UUID, tuple[bool, int, WebhookDelivery, str]] = {}
        for delivery, result, at in results:
            reset, trailing, _, _ = streaks.get(delivery.endpoint_id, (False, 0, delivery, ""))
            if result.ok:
                succeeded.setdefault(result.status_code, []).append(delivery.pk)
                streaks[delivery.endpoint_id] = (True, 0, delivery, "")
                report.succeeded += 1
                outcomes["succeeded"] = outcomes.get("succeeded", 0) + 1
                continue
            error = result.error or f"HTTP {result.status_code}"
            attempts = delivery.attempts + 1
            common = {
                "attempts": attempts,
                "total_attempts": F("total_attempts") + 1,
                "last_status_code": result.status_code,
                "lease_until": None,
                "last_error": error,
            }
            if attempts >= conf.webhook_max_attempts:
                WebhookDelivery.objects.filter(pk=delivery.pk).update(status=Status.DEAD, dead_at=at, **common)
                report.dead += 1
                outcomes["dead"] = outcomes.get("dead", 0) + 1
                _alert_if_failing(tenant, delivery, failures=0, dead=True, error=error, conf=conf)
            else:
                delay = retry_delay(attempts, conf)
                WebhookDelivery.objects.filter(pk=delivery.pk).update(
                    status=Status.RETRYING, next_attempt_at=at + timedelta(seconds=delay), **common
                )
                report.failed += 1
                report.note_retry(delay)
                outcomes["failed"] = outcomes.get("failed", 0) + 1
            streaks[delivery.endpoint_id] = (reset, trailing + 1, delivery, error)
        now = timezone.now()
        for status_code, pks in succeeded.items():
            WebhookDelivery.objects.filter(pk__in=pks).update(
                status=Status.SUCCEEDED,
                delivered_at=now,
                attempts=F("attempts") + 1,
                total_attempts=F("total_attempts") + 1,
                last_status_code=status_code,
                lease_until=None,
                last_error="",
            )
        for endpoint_id, (reset, trailing, last, error) in streaks.items():
            before = 0 if reset else last.endpoint.consecutive_failures
            changes: dict[str, object] = {
                "consecutive_failures": trailing if reset else F("consecutive_failures") + trailing
            }
            if reset:
                changes["last_success_at"] = now
            if trailing:
                changes["last_failure_at"] = now
            WebhookEndpoint.objects.filter(pk=endpoint_id).update(**changes)
            if before < conf.webhook_failing_after <= before + trailing:
                _alert_if_failing(tenant, last, failures=before + trailing, dead=False, error=error, conf=conf)
    record_metrics([(WEBHOOK_DELIVERIES, {"outcome": k}, v) for k, v in outcomes.items()])


def _alert_if_failing(
    tenant: TenantRef, delivery: WebhookDelivery, *, failures: int, dead: bool, error: str, conf: PipelineConfig
) -> None:
    url = delivery.endpoint.url
    if dead:
        raise_notification(
            tenant=tenant,
            kind=Notification.Kind.WEBHOOK_FAILING,
            key=f"webhook_dead:{delivery.endpoint_id}",
            title=f"Webhook deliveries to {url} are dead-lettered",
            body=(
                f"Event {delivery.event_seq} ({delivery.event_type}) failed {delivery.attempts + 1} times "
                f"(last error: {error}). Fix the endpoint, then replay its dead deliveries."
            ),
            severity=Notification.Severity.CRITICAL,
            data={"endpoint_id": str(delivery.endpoint_id), "event_seq": delivery.event_seq},
        )
    else:
        raise_notification(
            tenant=tenant,
            kind=Notification.Kind.WEBHOOK_FAILING,
            key=f"webhook_failing:{delivery.endpoint_id}",
            title=f"Webhook endpoint {url} is failing",
            body=f"The last {failures} deliveries failed (last error: {error}). Rollcall keeps retrying with backoff.",
            data={"endpoint_id": str(delivery.endpoint_id), "consecutive_failures": failures},
        )


def next_retry_in() -> float | None:
    """Seconds until the current schema's earliest scheduled retry, if one is due within
    EARLY_RETRY_MAX_SECONDS: a sender wakes itself for it; later ones are left to the sweeper."""
    earliest = (
        WebhookDelivery.objects.filter(status=Status.RETRYING)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if earliest is None:
        return None
    delay = max((earliest - timezone.now()).total_seconds(), 0.0)
    return delay if delay <= EARLY_RETRY_MAX_SECONDS else None
