"""Explicit tenant context: which tenant a piece of work is for, and its schema for a block.

The SCIM edge, the portal, Celery tasks and the CLI all name their tenant and enter its schema
with `tenant_schema`, which restores the previous schema afterwards; nothing relies on "the
current schema" being right by accident. An unknown or inactive tenant is an error, never a
fallback to another schema.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django_tenants.utils import schema_context

from tenants.db import tenant_connection
from tenants.models import Tenant


class UnknownTenant(Exception):
    """The schema is not an active tenant's (never fall back to another schema)."""


@dataclass(frozen=True)
class TenantRef:
    """A tenant as plain values: safe to hand to tasks and to keep across schema switches."""

    id: str
    slug: str
    name: str
    schema_name: str
    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, tenant: Tenant) -> TenantRef:
        return cls(str(tenant.id), tenant.slug, tenant.name, tenant.schema_name, dict(tenant.settings or {}))


_cache: dict[str, tuple[float, TenantRef]] = {}


def tenant_for_schema(schema_name: str) -> TenantRef:
    """The active tenant that owns `schema_name` (read from the public schema).

    Cached per process for ROLLCALL_TENANT_CACHE_SECONDS (every task starts with this lookup), so a
    suspension or a settings change reaches the pipeline within that time."""
    ttl = float(settings.ROLLCALL_TENANT_CACHE_SECONDS)
    now = time.monotonic()
    hit = _cache.get(schema_name)
    if hit is not None and now - hit[0] < ttl:
        return hit[1]
    tenant = Tenant.objects.filter(schema_name=schema_name, status=Tenant.Status.ACTIVE).first()
    if tenant is None:
        _cache.pop(schema_name, None)
        raise UnknownTenant(schema_name)
    ref = TenantRef.of(tenant)
    if ttl > 0:
        _cache[schema_name] = (now, ref)
    return ref


def ready_tenants() -> list[TenantRef]:
    """Tenants whose pipeline runs: active ones (the template and public schemas are never tenants)."""
    return [TenantRef.of(t) for t in Tenant.objects.filter(status=Tenant.Status.ACTIVE).order_by("schema_name")]


@contextmanager
def tenant_schema(tenant: TenantRef | Tenant) -> Iterator[None]:
    """Activate the tenant's schema for the block, restoring the previous one afterwards."""
    with schema_context(tenant.schema_name):
        yield


def current_schema() -> str:
    """The schema the default connection is set to (django-tenants' attribute)."""
    return tenant_connection().schema_name
