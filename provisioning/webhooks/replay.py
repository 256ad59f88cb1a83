"""Replaying webhook deliveries: one again now, or every event of an endpoint in a window."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from outbox.models import Event
from provisioning.models import WebhookDelivery, WebhookEndpoint
from provisioning.wakeups import request_outbound
from provisioning.webhooks.endpoints import WebhookError
from tenants.context import TenantRef

Status = WebhookDelivery.Status


def _wake_senders(tenant: TenantRef, ids: list[int]) -> None:
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


