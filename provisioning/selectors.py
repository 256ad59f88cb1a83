"""Reads of the current tenant schema's pipeline state: notifications and webhook endpoints."""

from __future__ import annotations

import uuid

from provisioning.models import Notification, WebhookDelivery, WebhookEndpoint


def unread_notifications() -> list[Notification]:
    return list(Notification.objects.filter(read_at__isnull=True).order_by("-last_raised_at"))


def active_endpoints() -> list[WebhookEndpoint]:
    return list(WebhookEndpoint.objects.filter(active=True).order_by("created_at"))


def dead_deliveries(endpoint_id: uuid.UUID | None = None) -> list[WebhookDelivery]:
    qs = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.DEAD)
    if endpoint_id is not None:
        qs = qs.filter(endpoint_id=endpoint_id)
    return list(qs.order_by("event_seq"))
