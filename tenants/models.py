"""Public-schema models: tenants, their SCIM connections and credentials, setup links, API keys."""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


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
    """The secret link an IT admin opens to run the setup wizard."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="setup_links")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)


class ApiKey(models.Model):
    """A tenant's key for the Events API. `key_id` is public and indexed; the secret part is hashed."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    key_id = models.CharField(max_length=24, unique=True)
    digest = models.CharField(max_length=64)
    label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
