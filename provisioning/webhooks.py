"""Webhook endpoints and deliveries: fan-out, signed sends, backoff with jitter, dead letters, replay.

Every handled event gets one WebhookDelivery per matching endpoint, written in the event's
transaction (so a redelivered event never fans out twice). Sending happens later, in separate tasks,
so a slow or failing endpoint never holds up the tenant's ordered queue. Delivery is at-least-once:
receivers dedupe by the `id` ("<tenant>:<seq>").
"""

from __future__ import annotations

import ipaddress
import json
import logging
import random
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from config.metrics import WEBHOOK_DELIVERIES
from config.metrics import record as record_metrics
from provisioning import signing
from provisioning.conf import PipelineConfig, pipeline_config
from provisioning.event_types import EventType
from provisioning.models import Event, Notification, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from provisioning.notifications import raise_notification
from provisioning.tenancy import TenantRef
from provisioning.webhook_http import HttpResult, client_for_this_thread

log = logging.getLogger(__name__)
SECRET_OVERLAP = timedelta(hours=24)
EARLY_RETRY_MAX_SECONDS = 60.0
# Outcomes are written in one transaction per this many attempts (a crash re-sends at most these).
RECORD_EVERY = 50
Status = WebhookDelivery.Status


class WebhookError(Exception):
    """Bad input to a webhook service: a clear message, nothing changed."""


@dataclass(frozen=True)
class CreatedEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # shown once


# --------------------------------------------------------------------------- endpoints


def validate_url(url: str, *, allow_private: bool) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError("the webhook URL must be an absolute http(s) URL")
    if parts.username or parts.password:
        raise WebhookError("credentials in the webhook URL are not allowed; verify the signature instead")
    if not allow_private:
        try:
            ip = ipaddress.ip_address(parts.hostname)
        except ValueError:
            ip = None  # a host name: checked again at every send, after resolution
        if ip is not None and (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved):
            raise WebhookError("the webhook URL points to a private or local address")
        if parts.hostname in ("localhost",) or parts.hostname.endswith(".localhost"):
            raise WebhookError("the webhook URL points to a private or local address")
    return url.strip()


def validate_event_types(types: Iterable[str]) -> list[str]:
    try:
        return sorted({EventType.parse(t).value for t in types})
    except ValueError as exc:
        raise WebhookError(str(exc)) from None


def _secret(conf: PipelineConfig, endpoint_id: uuid.UUID, salt: str) -> str:
    return signing.derive_secret(conf.webhook_signing_key, str(endpoint_id), salt)


def create_endpoint(*, url: str, event_types: Iterable[str] = (), description: str = "") -> CreatedEndpoint:
    """Register an endpoint in the current tenant; returns its signing secret (shown once)."""
    conf = pipeline_config()
    endpoint = WebhookEndpoint(
        id=uuid.uuid4(),
        url=validate_url(url, allow_private=conf.webhook_allow_private),
        event_types=validate_event_types(event_types),
        description=description[:200],
        secret_salt=secrets.token_hex(16),
    )
    secret = _secret(conf, endpoint.id, endpoint.secret_salt)
    endpoint.secret_prefix = secret[:10]
    endpoint.save(force_insert=True)
    return CreatedEndpoint(endpoint=endpoint, secret=secret)


def rotate_secret(*, endpoint_id: uuid.UUID | str) -> str:
    """A new secret (shown once); the old one keeps signing alongside for SECRET_OVERLAP."""
    conf = pipeline_config()
    now = timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(id=endpoint_id)
        endpoint.previous_secret_salt = endpoint.secret_salt
        endpoint.previous_secret_expires_at = now + SECRET_OVERLAP
        endpoint.secret_salt = secrets.token_hex(16)
        endpoint.secret_rotated_at = now
        secret = _secret(conf, endpoint.id, endpoint.secret_salt)
        endpoint.secret_prefix = secret[:10]
        endpoint.save()
    return secret


def update_endpoint(
    *,
    endpoint_id: uuid.UUID | str,
    url: str | None = None,
    event_types: Iterable[str] | None = None,
    active: bool | None = None,
    description: str | None = None,
) -> WebhookEndpoint:
    conf = pipeline_config()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(id=endpoint_id)
        if url is not None:
            endpoint.url = validate_url(url, allow_private=conf.webhook_allow_private)
        if event_types is not None:
            endpoint.event_types = validate_event_types(event_types)
        if active is not None:
            endpoint.active = active
            if active:
                endpoint.consecutive_failures = 0
        if description is not None:
            endpoint.description = description[:200]
        endpoint.save()
    return endpoint


def signing_secrets(endpoint: WebhookEndpoint, now: datetime, conf: PipelineConfig) -> list[str]:
    found = [_secret(conf, endpoint.id, endpoint.secret_salt)]
    if endpoint.previous_secret_salt and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        found.append(_secret(conf, endpoint.id, endpoint.previous_secret_salt))
    return found


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
    """The JSON a receiver gets. Identical on every retry of the same event."""
    document = {
        "id": f"{tenant.slug}:{event.seq}",
        "seq": event.seq,
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "data": event.payload,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def signed_headers(tenant: TenantRef, event: Event, body: bytes, secrets_: Sequence[str], timestamp: int) -> dict[str, str]:
    signatures = ",".join(f"v1={signing.signature(s, timestamp, body)}" for s in secrets_)
    return {
        signing.SIGNATURE_HEADER: f"t={timestamp},{signatures}",
        "Rollcall-Event-Id": f"{tenant.slug}:{event.seq}",
        "Rollcall-Event-Seq": str(event.seq),
        "Rollcall-Event-Type": event.type,
    }


# --------------------------------------------------------------------------- sending


def backoff_seconds(attempt: int, conf: PipelineConfig, rng: random.Random | None = None) -> float:
    """Exponential backoff with "equal jitter": half the delay fixed, half random (no thundering herd)."""
    delay = min(conf.webhook_retry_cap, conf.webhook_retry_base * (2 ** max(attempt - 1, 0)))
    return delay / 2 + (rng or random).uniform(0, delay / 2)


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
                delay = backoff_seconds(attempts, conf)
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


# --------------------------------------------------------------------------- replay


def _wake_senders(tenant: TenantRef, ids: list[int]) -> None:
    from provisioning.dispatch import request_outbound

    if ids:
        schema = tenant.schema_name
        transaction.on_commit(lambda: request_outbound(schema))


def replay_delivery(*, tenant: TenantRef, delivery_id: int) -> WebhookDelivery:
    """Send one delivery again now (dead, failed or even succeeded), with a fresh attempt budget."""
    with transaction.atomic():
        updated = WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=Status.PENDING,
            attempts=0,
            replays=F("replays") + 1,
            next_attempt_at=timezone.now(),
            dead_at=None,
            lease_until=None,
        )
        if not updated:
            raise WebhookError(f"unknown delivery {delivery_id}")
        _wake_senders(tenant, [delivery_id])
    return WebhookDelivery.objects.get(pk=delivery_id)


def replay_deliveries(
    *,
    tenant: TenantRef,
    endpoint_id: uuid.UUID | str,
    seq_from: int | None = None,
    seq_to: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    dead_only: bool = False,
) -> int:
    """Re-send an endpoint's events in a seq and/or time window (inclusive bounds).

    Existing deliveries in the window are reset; matching events that never had a delivery to this
    endpoint (e.g. it was created later) get one. dead_only: only dead-lettered deliveries.
    """
    endpoint = WebhookEndpoint.objects.filter(id=endpoint_id).first()
    if endpoint is None:
        raise WebhookError(f"unknown webhook endpoint {endpoint_id}")
    events = Event.objects.all()
    if seq_from is not None:
        events = events.filter(seq__gte=seq_from)
    if seq_to is not None:
        events = events.filter(seq__lte=seq_to)
    if since is not None:
        events = events.filter(occurred_at__gte=since)
    if until is not None:
        events = events.filter(occurred_at__lte=until)
    if endpoint.event_types:
        events = events.filter(type__in=endpoint.event_types)
    now = timezone.now()
    with transaction.atomic():
        window = WebhookDelivery.objects.filter(endpoint=endpoint, event_seq__in=events.values("seq"))
        if dead_only:
            window = window.filter(status=Status.DEAD)
        window = window.exclude(status=Status.SENDING)
        ids = list(window.values_list("id", flat=True))
        WebhookDelivery.objects.filter(id__in=ids).update(
            status=Status.PENDING, attempts=0, replays=F("replays") + 1, next_attempt_at=now, dead_at=None
        )
        if not dead_only:
            missing = events.exclude(seq__in=WebhookDelivery.objects.filter(endpoint=endpoint).values("event_seq"))
            rows = [
                WebhookDelivery(endpoint=endpoint, event_seq=seq, event_type=etype, event_committed_at=occurred)
                for seq, etype, occurred in missing.values_list("seq", "type", "occurred_at")
            ]
            ids += [d.pk for d in WebhookDelivery.objects.bulk_create(rows, batch_size=1000)]
        _wake_senders(tenant, ids)
    return len(ids)


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
