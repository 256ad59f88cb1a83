"""Explicit tenant context for workers: a task names its tenant; nothing relies on the current schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django_tenants.utils import schema_context

from tenants.models import Tenant


class UnknownTenant(Exception):
    """The schema is not an active tenant's (never fall back to another schema)."""


@dataclass(frozen=True)
class TenantRef:
    id: str
    slug: str
    name: str
    schema_name: str
    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, tenant: Tenant) -> TenantRef:
        return cls(str(tenant.id), tenant.slug, tenant.name, tenant.schema_name, dict(tenant.settings or {}))


def tenant_for_schema(schema_name: str) -> TenantRef:
    """The active tenant that owns `schema_name` (read from the public schema)."""
    tenant = Tenant.objects.filter(schema_name=schema_name, status=Tenant.Status.ACTIVE).first()
    if tenant is None:
        raise UnknownTenant(schema_name)
    return TenantRef.of(tenant)


def ready_tenants() -> list[TenantRef]:
    """Tenants whose pipeline runs: active ones (the template and public schemas are never tenants)."""
    return [TenantRef.of(t) for t in Tenant.objects.filter(status=Tenant.Status.ACTIVE).order_by("schema_name")]


@contextmanager
def tenant_schema(tenant: TenantRef) -> Iterator[TenantRef]:
    """Activate the tenant's schema for the block, restoring the previous one afterwards."""
    with schema_context(tenant.schema_name):
        yield tenant


def current_schema() -> str:
    return str(connection.schema_name)
