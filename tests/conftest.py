"""Shared fixtures: a migrated template schema, two real tenants, SCIM clients bound to each, a private Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection

from outbox import relay
from tenants.context import TenantRef
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


@pytest.fixture(autouse=True)
def _no_tenant_cache(settings) -> None:  # type: ignore[no-untyped-def]
    """Tests reuse schema names across tenants and change tenant settings mid-test."""
    settings.ROLLCALL_TENANT_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:  # type: ignore[no-untyped-def]
    """PBKDF2's million rounds cost 0.4 s a password here; tests create hundreds of accounts.
    The product's own hasher list is checked in tests/config/test_settings.py."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]


@pytest.fixture
def acme(tenant_a) -> TenantRef:  # type: ignore[no-untyped-def]
    """Tenant A as the plain reference the pipeline and the domain services take."""
    return TenantRef.of(tenant_a)


@pytest.fixture
def bravo(tenant_b) -> TenantRef:  # type: ignore[no-untyped-def]
    return TenantRef.of(tenant_b)


@pytest.fixture
def scim(tenant_a) -> ScimClient:  # type: ignore[no-untyped-def]
    """A SCIM client for tenant A over a generic-profile connection."""
    return ScimClient.for_tenant(tenant_a, idp="generic")


@pytest.fixture
def scim_b(tenant_b) -> ScimClient:  # type: ignore[no-untyped-def]
    return ScimClient.for_tenant(tenant_b, idp="generic")


@pytest.fixture(scope="session")
def private_redis(tmp_path_factory) -> Iterator[RedisServer]:  # type: ignore[no-untyped-def]
    """A redis-server of our own: tests may flush, kill and restart it (the machine's Redis is shared)."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.kill()


@pytest.fixture
def broker(private_redis: RedisServer, settings) -> Iterator[RedisServer]:  # type: ignore[no-untyped-def]
    """Point this process's wake-up keys, task publishing and metrics at the private Redis, emptied."""
    if private_redis.proc is None:
        private_redis.start()
    private_redis.client().flushall()
    settings.REDIS_URL = private_redis.url
    settings.CELERY_BROKER_URL = private_redis.url
    relay.reset_broker_pause()
    yield private_redis
    relay.reset_broker_pause()
