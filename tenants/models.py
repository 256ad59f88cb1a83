"""Public-schema models: tenants, their SCIM connections and credentials, setup links, API keys,
portal and console accounts, and the setup wizard's per-connection state."""

from __future__ import annotations

import hmac
import secrets
import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone
from django_otp.models import Device
from django_tenants.models import DomainMixin, TenantMixin

# "Never" in sort keys: tenants without a SCIM request sort after every tenant with one.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def new_connection_id() -> str:
    # Opaque and unguessable, but a URL path segment, not a secret: the bearer token is the secret.
    return secrets.token_hex(12)


class Tenant(TenantMixin):
    """A customer company. Its directory lives in its own PostgreSQL schema."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        SUSPENDED = "suspended"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=40, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    # Seat prices, SLA targets and similar per-tenant settings; read through services, never ad hoc.
    settings = models.JSONField(default=dict, blank=True)

    # Schemas are created by cloning the template (tenants.schema_clone), never by migrating per tenant.
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        indexes = [
            # The console's tenant list sorts by name (case-insensitive) and by newest.
            models.Index(Lower("name"), "id", name="tenant_name_ci"),
            models.Index(fields=["created_at", "id"], name="tenant_created"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"


class Domain(DomainMixin):
    """Optional host-based routing (acme.rollcall.example); path routing needs none."""


class ScimConnection(models.Model):
    """One IdP integration of a tenant: an endpoint URL plus its bearer tokens."""

    id = models.CharField(primary_key=True, max_length=32, default=new_connection_id, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="connections")
    idp = models.CharField(max_length=32)
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    first_request_at = models.DateTimeField(null=True, blank=True)
    last_request_at = models.DateTimeField(null=True, blank=True)
    detected_idp = models.CharField(max_length=32, blank=True)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.idp}/{self.id}"


class ScimToken(models.Model):
    """A bearer token of a connection. Only the HMAC digest is stored; several may be active (rotation)."""

    connection = models.ForeignKey(ScimConnection, on_delete=models.CASCADE, related_name="tokens")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["connection", "revoked_at"], name="scimtoken_conn_active")]


class SetupLink(models.Model):
    """The secret link an IT admin opens to create their portal account (single use).

    `purpose` is "setup" for the operator-issued link and "invite" for a link one tenant admin
    issues to another (then `email` is fixed). The status moves issued -> opened -> enrolled
    (account and TOTP done) -> completed (the wizard finished); expired and revoked end it.
    """

    class Purpose(models.TextChoices):
        SETUP = "setup"
        INVITE = "invite"

    class Status(models.TextChoices):
        ISSUED = "issued"
        OPENED = "opened"
        ENROLLED = "enrolled"
        COMPLETED = "completed"
        EXPIRED = "expired"
        REVOKED = "revoked"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="setup_links")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    purpose = models.CharField(max_length=8, choices=Purpose.choices, default=Purpose.SETUP)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ISSUED)
    email = models.EmailField(blank=True)  # invites only: the invited address
    opened_at = models.DateTimeField(null=True, blank=True)
    enrolled_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["tenant", "purpose", "revoked_at"], name="setuplink_tenant_open")]


class TenantAdmin(models.Model):
    """A customer's IT admin: a Django user (username = lower-cased email) bound to one tenant."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tenant_admin")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="admins")
    created_at = models.DateTimeField(auto_now_add=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Notification kinds this admin does NOT want emailed ({"unmapped_group": false, ...}); missing = emailed.
    email_preferences = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.user.username} @ {self.tenant_id}"


class Operator(models.Model):
    """A member of the SaaS operator's support staff (console). Roles decide the permissions."""

    class Role(models.TextChoices):
        SUPPORT = "support"
        ADMIN = "admin"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="operator")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.SUPPORT)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user.username} ({self.role})"


class RecoveryCodeDevice(Device):
    """One-time recovery codes stored as HMAC digests (django-otp's StaticDevice keeps them in clear).

    `digests` holds the digests of the unused codes; a used code's digest is removed in the same
    locked transaction that accepts it, so a code works once even under concurrent attempts.
    """

    digests = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(Device.Meta):
        verbose_name = "recovery code device"

    def verify_token(self, token: str) -> bool:
        from tenants.secrets import digest, normalise_recovery_code

        presented = digest(normalise_recovery_code(token))
        with transaction.atomic():
            locked = type(self).objects.select_for_update().get(pk=self.pk)
            found: str | None = None
            # Compare against every stored digest so the time taken says nothing about which matched.
            for stored in locked.digests:
                if hmac.compare_digest(presented, stored):
                    found = stored
            if found is None:
                return False
            locked.digests = [d for d in locked.digests if d != found]
            locked.save(update_fields=["digests"])
        self.digests = locked.digests
        return True

    @property
    def remaining(self) -> int:
        return len(self.digests)


class ConnectionSetup(models.Model):
    """The setup wizard's progress for one connection (public schema, so the console can show it).

    Each step records when it was done; `step` is where the admin resumes.
    """

    class Step(models.TextChoices):
        IDP = "idp"
        INSTRUCTIONS = "instructions"
        CREDENTIALS = "credentials"
        LIVE_CHECK = "live-check"
        MAPPING = "mapping"
        ROLES = "roles"
        VERIFY = "verify"
        DONE = "done"

    connection = models.OneToOneField(ScimConnection, on_delete=models.CASCADE, related_name="setup")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="connection_setups")
    step = models.CharField(max_length=16, choices=Step.choices, default=Step.INSTRUCTIONS)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    instructions_done_at = models.DateTimeField(null=True, blank=True)
    token_issued_at = models.DateTimeField(null=True, blank=True)
    token_pasted_at = models.DateTimeField(null=True, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)  # first authenticated request seen
    connection_test_at = models.DateTimeField(null=True, blank=True)  # the IdP's own probe succeeded
    first_user_at = models.DateTimeField(null=True, blank=True)
    # Later steps (attribute mapping, role mapping, verification) record their completion here.
    mapped_at = models.DateTimeField(null=True, blank=True)
    roles_mapped_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Step 7: the directory user (tenant schema id) whose requests the checklist follows, and
    # "skip, verify later" (the connection then shows a "not verified" badge until verified).
    test_user_id = models.CharField(max_length=64, blank=True)
    verify_skipped_at = models.DateTimeField(null=True, blank=True)

    @property
    def verification_state(self) -> str:
        """verified | skipped | pending: what the "not verified" badge reads."""
        if self.verified_at is not None:
            return "verified"
        return "skipped" if self.verify_skipped_at is not None else "pending"


class ApiKey(models.Model):
    """A tenant's key for the Events API. `key_id` is public and indexed; the secret part is hashed."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    key_id = models.CharField(max_length=24, unique=True)
    digest = models.CharField(max_length=64)
    label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)


# --------------------------------------------------------------------------- operator console (public)


class AuditEvent(models.Model):
    """One operator or tenant-admin action. Append-only: a trigger (migration 0003) refuses UPDATE and DELETE.

    Written by tenants.audit.record_audit in the transaction of the action it describes. The tenant is
    a plain reference (no database constraint), so the trail outlives a deleted tenant."""

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    type = models.CharField(max_length=64)
    actor_kind = models.CharField(max_length=16)
    actor_id = models.CharField(max_length=128)
    actor_label = models.CharField(max_length=254, blank=True)
    actor_role = models.CharField(max_length=32, blank=True)
    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    target_type = models.CharField(max_length=32, blank=True)
    target_id = models.CharField(max_length=128, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "occurred_at", "id"], name="audit_tenant_time"),
            models.Index(fields=["occurred_at", "id"], name="audit_time"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.type} by {self.actor_kind}:{self.actor_id}"


class Job(models.Model):
    """Long work (exports, bulk replays, rebuilds, re-mapping) that a worker advances in bounded steps.

    `state` is the runner's cursor, saved with each step's effects in one transaction, so a killed
    worker's successor continues where the last committed step ended."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=64)
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs")
    requested_by = models.JSONField(default=dict)  # the AuditActor: kind, id, label, role
    params = models.JSONField(default=dict, blank=True)
    state = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(null=True, blank=True)
    steps = models.PositiveIntegerField(default=0)
    result_path = models.CharField(max_length=500, blank=True)  # relative to ROLLCALL_EXPORT_DIR
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["updated_at"],
                name="job_unfinished",
                condition=models.Q(status="queued") | models.Q(status="running"),
            ),
            models.Index(fields=["tenant", "-created_at"], name="job_tenant_recent"),
        ]

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED, self.Status.CANCELLED)


class SupportSession(models.Model):
    """An operator's read-only, time-boxed view of a tenant's portal, with the reason they gave."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="support_sessions")
    operator_id = models.CharField(max_length=128)
    operator_label = models.CharField(max_length=254, blank=True)
    reason = models.TextField()
    started_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.CharField(max_length=254, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "-started_at"], name="support_tenant_recent")]

    @property
    def until(self) -> datetime:
        """When the access ended (or will end): the earlier of its end and its expiry."""
        return min(self.ended_at, self.expires_at) if self.ended_at else self.expires_at


class TenantHealth(models.Model):
    """The tenant's current health summary for the console's tenant list, kept by the workers.

    Windowed counters (`*_24h`) are sums of the tenant's TenantHealthHour rows; time filters read
    timestamps (`last_error_at`, `setup_updated_at`), so nothing here goes stale between refreshes."""

    tenant = models.OneToOneField(Tenant, primary_key=True, on_delete=models.CASCADE, related_name="health")
    refreshed_at = models.DateTimeField(null=True, blank=True)
    idps = models.CharField(max_length=200, blank=True)  # configured, comma-separated
    detected_idps = models.CharField(max_length=200, blank=True)
    last_scim_request_at = models.DateTimeField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    requests_24h = models.PositiveIntegerField(default=0)
    errors_24h = models.PositiveIntegerField(default=0)
    status_2xx_24h = models.PositiveIntegerField(default=0)
    status_4xx_24h = models.PositiveIntegerField(default=0)
    status_5xx_24h = models.PositiveIntegerField(default=0)
    unauthorized_24h = models.PositiveIntegerField(default=0)
    auth_failures_24h = models.JSONField(default=dict, blank=True)  # cause -> count
    error_rate_24h = models.FloatField(default=0.0)
    outbox_backlog = models.PositiveIntegerField(default=0)
    oldest_pending_at = models.DateTimeField(null=True, blank=True)
    handler_failures = models.PositiveIntegerField(default=0)
    parked_events = models.PositiveIntegerField(default=0)
    webhooks_succeeded_24h = models.PositiveIntegerField(default=0)
    webhooks_failed_24h = models.PositiveIntegerField(default=0)
    webhooks_dead = models.PositiveIntegerField(default=0)
    webhook_endpoints_failing = models.PositiveIntegerField(default=0)
    last_webhook_failure_at = models.DateTimeField(null=True, blank=True)
    users_total = models.PositiveIntegerField(default=0)
    users_active = models.PositiveIntegerField(default=0)
    groups_total = models.PositiveIntegerField(default=0)
    seats = models.JSONField(default=dict, blank=True)  # role key -> seats
    billable_seats = models.PositiveIntegerField(default=0)
    deprovision_p50_7d = models.FloatField(null=True, blank=True)
    deprovision_p95_7d = models.FloatField(null=True, blank=True)
    setup_stage = models.PositiveSmallIntegerField(default=0)
    setup_updated_at = models.DateTimeField(default=timezone.now)
    setup = models.JSONField(default=dict, blank=True)  # stage -> ISO time reached (or null)

    class Meta:
        indexes = [
            models.Index(fields=["last_error_at"], name="health_last_error"),
            models.Index(fields=["setup_stage", "setup_updated_at"], name="health_setup"),
            # One per sort of the console's tenant list: a page is an index range, at any tenant count.
            models.Index(fields=["requests_24h", "tenant"], name="health_sort_requests"),
            models.Index(fields=["error_rate_24h", "tenant"], name="health_sort_error_rate"),
            models.Index(fields=["outbox_backlog", "tenant"], name="health_sort_backlog"),
            models.Index(fields=["users_active", "tenant"], name="health_sort_users"),
            models.Index(
                Coalesce("last_scim_request_at", Value(EPOCH)), "tenant", name="health_sort_last_request"
            ),
            models.Index(
                F("webhooks_dead") + F("webhooks_failed_24h") + F("webhook_endpoints_failing"),
                "tenant",
                name="health_sort_webhooks",
            ),
            # Tenants whose windowed counters are non-zero: the hourly roll-forward visits only these.
            models.Index(
                fields=["tenant"],
                name="health_windowed",
                condition=models.Q(requests_24h__gt=0)
                | models.Q(webhooks_succeeded_24h__gt=0)
                | models.Q(webhooks_failed_24h__gt=0),
            ),
        ]


class TenantHealthHour(models.Model):
    """One tenant's activity in one clock hour (UTC): requests by status class, events, webhooks."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="health_hours")
    hour = models.DateTimeField()
    requests = models.PositiveIntegerField(default=0)
    status_2xx = models.PositiveIntegerField(default=0)
    status_4xx = models.PositiveIntegerField(default=0)
    status_5xx = models.PositiveIntegerField(default=0)
    unauthorized = models.PositiveIntegerField(default=0)
    auth_failures = models.JSONField(default=dict, blank=True)
    events_appended = models.PositiveIntegerField(default=0)
    events_handled = models.PositiveIntegerField(default=0)
    event_lag_avg_seconds = models.FloatField(null=True, blank=True)
    event_lag_max_seconds = models.FloatField(null=True, blank=True)
    webhooks_succeeded = models.PositiveIntegerField(default=0)
    webhooks_failed = models.PositiveIntegerField(default=0)
    webhooks_dead = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "hour"], name="health_hour_uniq")]
        indexes = [models.Index(fields=["hour"], name="health_hour_time")]


class TenantHealthDay(models.Model):
    """Deprovision latency of one tenant on one day (UTC), from its OffboardingRecord rows."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="health_days")
    day = models.DateField()
    deprovisions = models.PositiveIntegerField(default=0)
    deprovision_p50_seconds = models.FloatField(null=True, blank=True)
    deprovision_p95_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "day"], name="health_day_uniq")]
