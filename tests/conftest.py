"""Shared fixtures: a migrated template schema, two real tenants, SCIM clients bound to each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection

from tenants.db import tenant_connection
from tenants.schema_clone import CLONE_FUNCTION_SQL, migrate_template
from tests.provisioning.infra import RedisServer
from tests.support.scim_client import ScimClient
from tests.support.tenants import ensure_tenant


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """After pytest-django migrates the public schema, build the tenant template schema once."""
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute(CLONE_FUNCTION_SQL)
        migrate_template()


@pytest.fixture(scope="session")
def private_redis(tmp_path_factory) -> Iterator[RedisServer]:  # type: ignore[no-untyped-def]
    """A redis-server of our own: tests may flush, kill and restart it (the machine's Redis is shared)."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.kill()


@pytest.fixture(autouse=True)
def _public_schema_after_each_test() -> Iterator[None]:
    yield
    tenant_connection().set_schema_to_public()


@pytest.fixture
def tenant_a(db):  # type: ignore[no-untyped-def]
    return ensure_tenant("alpha", "Alpha Corp")


@pytest.fixture
def tenant_b(db):  # type: ignore[no-untyped-def]
    return ensure_tenant("bravo", "Bravo Inc")


@pytest.fixture
def scim(tenant_a) -> ScimClient:  # type: ignore[no-untyped-def]
    """A SCIM client for tenant A over a generic-profile connection."""
    return ScimClient.for_tenant(tenant_a, idp="generic")


@pytest.fixture
def scim_b(tenant_b) -> ScimClient:  # type: ignore[no-untyped-def]
    return ScimClient.for_tenant(tenant_b, idp="generic")
