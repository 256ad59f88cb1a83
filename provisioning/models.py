"""Tenant-schema pipeline state: the drain's ledger, the mail outbox, notifications and webhooks."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone


class HandlerRun(models.Model):
    """One handler finished one event. Written in the handler's own transaction: the idempotency ledger.

    A redelivered event skips every handler that already has a row here, so its effects happen once.
    """

    seq = models.BigIntegerField()
    handler = models.CharField(max_length=64)
    completed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["seq", "handler"], name="prov_handlerrun_uniq")]


class OutboundEmail(models.Model):
    """The email outbox: a message is written in the transaction that decides to send it and sent
    after commit. The dedupe key makes a welcome (or an alert) go out once even if an event is replayed."""

    dedupe_key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=32)
    recipients = models.JSONField(default=list)
    subject = models.CharField(max_length=255)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    seq = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    given_up_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="prov_email_unsent",
                condition=Q(sent_at__isnull=True, given_up_at__isnull=True),
            )
        ]


class Notification(models.Model):
    """An admin alert shown in the portal (and emailed). One row per dedupe key; repeats bump it."""

    class Kind(models.TextChoices):
        UNMAPPED_GROUP = "unmapped_group"
        WEBHOOK_FAILING = "webhook_failing"
        ERROR_RATE_SPIKE = "error_rate_spike"
        TOKEN_EXPIRING = "token_expiring"
        PIPELINE_STUCK = "pipeline_stuck"

    class Severity(models.TextChoices):
        INFO = "info"
        WARNING = "warning"
        CRITICAL = "critical"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    dedupe_key = models.CharField(max_length=200, unique=True)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.WARNING)
    title = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_raised_at = models.DateTimeField(default=timezone.now)
    occurrences = models.PositiveIntegerField(default=1)
    emailed_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["-last_raised_at"], name="prov_notification_recent")]


class WebhookEndpoint(models.Model):
    """Where a tenant wants events POSTed. The signing secret is derived, never stored (see webhooks.signing)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list, blank=True)  # empty: every type
    active = models.BooleanField(default=True)
    secret_salt = models.CharField(max_length=64)
    secret_prefix = models.CharField(max_length=16, blank=True)  # first characters, for the portal
    created_at = models.DateTimeField(default=timezone.now)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    # After a rotation deliveries are signed with both secrets until this time (two v1= values).
    previous_secret_salt = models.CharField(max_length=64, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)

    def wants(self, event_type: str) -> bool:
        return self.active and (not self.event_types or event_type in self.event_types)


class WebhookDelivery(models.Model):
    """One event to one endpoint: retried with backoff, dead-lettered after the last attempt, replayable."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        RETRYING = "retrying"
        SUCCEEDED = "succeeded"
        DEAD = "dead"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_seq = models.BigIntegerField()
    event_type = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)  # in the current cycle (a replay starts a new one)
    total_attempts = models.PositiveIntegerField(default=0)
    replays = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    event_committed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    dead_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_seq"], name="prov_delivery_endpoint_seq_uniq")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="prov_delivery_due",
                # OR'd equalities, not IN: PostgreSQL prints an IN condition differently after a
                # schema clone re-creates the index, and the clone must match the template exactly.
                condition=Q(status="pending") | Q(status="sending") | Q(status="retrying"),
            ),
            models.Index(fields=["endpoint", "status", "event_seq"], name="prov_delivery_endpoint"),
            # Dead letters by time: the console's rollup and its dead-letter view.
            models.Index(fields=["dead_at"], name="prov_delivery_dead", condition=Q(status="dead")),
        ]


class WebhookAttempt(models.Model):
    """One HTTP attempt of a delivery, for the portal's delivery log and the offboarding proof."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.FloatField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        # The console's rollup counts attempts per hour.
        indexes = [models.Index(fields=["attempted_at"], name="prov_attempt_time")]
