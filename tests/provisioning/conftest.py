"""Pipeline fixtures: tenant references, a private redis-server, the broker pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from provisioning import dispatch
from provisioning.tenancy import TenantRef
from tests.provisioning.infra import RedisServer


@pytest.fixture(autouse=True)
def _no_tenant_cache(settings) -> None:  # type: ignore[no-untyped-def]
    """Tests reuse schema names across tenants and change tenant settings mid-test."""
    settings.ROLLCALL_TENANT_CACHE_SECONDS = 0


@pytest.fixture
def acme(tenant_a) -> TenantRef:  # type: ignore[no-untyped-def]
    return TenantRef.of(tenant_a)


@pytest.fixture
def bravo(tenant_b) -> TenantRef:  # type: ignore[no-untyped-def]
    return TenantRef.of(tenant_b)


@pytest.fixture
def broker(private_redis: RedisServer, settings) -> Iterator[RedisServer]:  # type: ignore[no-untyped-def]
    """Point this process's dispatch keys and task publishing at the private Redis, emptied."""
    if private_redis.proc is None:
        private_redis.start()
    private_redis.client().flushall()
    settings.REDIS_URL = private_redis.url
    settings.CELERY_BROKER_URL = private_redis.url
    dispatch._down_until = 0.0
    yield private_redis
    dispatch._down_until = 0.0
