"""Reads of the current tenant schema's pipeline state: notifications and webhook endpoints."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from provisioning.models import Notification, WebhookDelivery, WebhookEndpoint


def unread_notifications(limit: int | None = None) -> list[Notification]:
    qs = Notification.objects.filter(read_at__isnull=True).order_by("-last_raised_at", "-id")
    return list(qs[:limit] if limit else qs)


def unread_notification_count() -> int:
    return Notification.objects.filter(read_at__isnull=True).count()


def notifications_page(*, before_id: int | None = None, unread_only: bool = False, limit: int = 50) -> tuple[list[Notification], int | None]:
    """Newest raised first (keyset on id, which grows with creation); the cursor of the next page."""
    qs = Notification.objects.all()
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    rows = list(qs.order_by("-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def active_endpoints() -> list[WebhookEndpoint]:
    return list(WebhookEndpoint.objects.filter(active=True).order_by("created_at"))


def dead_deliveries(endpoint_id: uuid.UUID | None = None) -> list[WebhookDelivery]:
    qs = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.DEAD)
    if endpoint_id is not None:
        qs = qs.filter(endpoint_id=endpoint_id)
    return list(qs.order_by("event_seq"))


@dataclass(frozen=True)
class DeliveryRow:
    delivery_id: int
    endpoint_id: str
    event_seq: int
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    next_attempt_at: object
    last_error: str


def webhook_deliveries(*, endpoint_id: str | None = None, status: str | None = None, limit: int = 50) -> list[DeliveryRow]:
    """The current tenant's most recent deliveries (newest first): the ids `replay --delivery` takes."""
    rows = WebhookDelivery.objects.order_by("-event_seq", "-id")
    if endpoint_id:
        rows = rows.filter(endpoint__id=endpoint_id)
    if status:
        rows = rows.filter(status=status)
    return [
        DeliveryRow(
            d.pk,
            str(d.endpoint_id),
            d.event_seq,
            d.event_type,
            d.status,
            d.total_attempts,
            d.last_status_code,
            d.next_attempt_at,
            d.last_error[:120],
        )
        for d in rows[: max(1, min(limit, 1000))]
    ]
