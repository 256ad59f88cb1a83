"""Test tenants, created through the real service (schema cloned from the template)."""

from __future__ import annotations

from django.db import connection

from tenants.models import Tenant
from tenants.services import create_tenant, schema_name_for
from tests.support.actors import TEST_ACTOR


def ensure_tenant(slug: str, name: str) -> Tenant:
    """The tenant with this slug, created (with its schema) when missing."""
    existing = Tenant.objects.filter(slug=slug).first()
    if existing is not None:
        return existing
    with connection.cursor() as cursor:  # a schema left behind by a flushed transactional test
        cursor.execute(f'DROP SCHEMA IF EXISTS "{schema_name_for(slug)}" CASCADE')
    return create_tenant(name=name, slug=slug, actor=TEST_ACTOR).tenant
