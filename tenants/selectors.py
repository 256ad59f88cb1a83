"""Reads of the public schema for the CLI and the console: tenants, connections, API keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q
from django.utils import timezone

from tenants.models import ApiKey, ScimConnection, Tenant


@dataclass(frozen=True)
class TenantRow:
    tenant_id: str
    slug: str
    name: str
    status: str
    schema_name: str
    connections: int
    created_at: datetime


def list_tenants() -> list[TenantRow]:
    rows = Tenant.objects.annotate(connection_count=Count("connections")).order_by("slug")
    return [
        TenantRow(str(t.id), t.slug, t.name, t.status, t.schema_name, t.connection_count, t.created_at)  # type: ignore[attr-defined]
        for t in rows
    ]


@dataclass(frozen=True)
class ConnectionRow:
    connection_id: str
    tenant: str
    idp: str
    name: str
    active: bool
    active_tokens: int
    last_request_at: datetime | None


def list_connections(*, tenant: Tenant | None = None) -> list[ConnectionRow]:
    now = timezone.now()
    usable = Q(tokens__revoked_at__isnull=True) & (Q(tokens__expires_at__isnull=True) | Q(tokens__expires_at__gt=now))
    rows = ScimConnection.objects.select_related("tenant").annotate(usable_tokens=Count("tokens", filter=usable))
    if tenant is not None:
        rows = rows.filter(tenant=tenant)
    return [
        ConnectionRow(c.id, c.tenant.slug, c.idp, c.name, c.is_active, c.usable_tokens, c.last_request_at)  # type: ignore[attr-defined]
        for c in rows.order_by("tenant__slug", "created_at")
    ]


@dataclass(frozen=True)
class ApiKeyRow:
    key_id: str
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def list_api_keys(*, tenant: Tenant) -> list[ApiKeyRow]:
    return [
        ApiKeyRow(k.key_id, k.label, k.created_at, k.last_used_at, k.revoked_at)
        for k in ApiKey.objects.filter(tenant=tenant).order_by("created_at")
    ]
