"""Tenant-schema transactional outbox: every directory change appends an Event in its transaction."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class EventCounter(models.Model):
    """One row per tenant schema; locking it serialises seq allocation so seq order is commit order."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    value = models.BigIntegerField(default=0)


class Event(models.Model):
    """An outbox event. `seq` is gap-free and increasing per tenant, in commit order."""

    seq = models.BigIntegerField(primary_key=True)
    type = models.CharField(max_length=64)
    occurred_at = models.DateTimeField(default=timezone.now)
    actor = models.CharField(max_length=128)
    resource_type = models.CharField(max_length=32, blank=True)
    resource_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict)
    request_id = models.CharField(max_length=64, blank=True)
    # When the SCIM request that caused the change arrived; deprovision latency is measured from it.
    requested_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # After a handler failure the tenant's queue waits here until this time (exponential backoff).
    retry_at = models.DateTimeField(null=True, blank=True)
    # A poison event is set aside ("parked") so the tenant's other events go on; later events about the
    # same resource are held behind it (held_behind = its seq) until an operator retries or skips it.
    parked_at = models.DateTimeField(null=True, blank=True)
    park_reason = models.TextField(blank=True)
    held_behind = models.BigIntegerField(null=True, blank=True)
    skipped_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=128, blank=True)  # who retried or skipped a parked event
    resolution_note = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["seq"], name="outbox_event_pending", condition=Q(handled_at__isnull=True)),
            models.Index(fields=["resource_type", "resource_id"], name="outbox_event_resource"),
            models.Index(
                fields=["seq"],
                name="outbox_event_parked",
                condition=Q(parked_at__isnull=False, handled_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.seq} {self.type}"
