"""Portal fixtures: two tenants, each with a verified admin; the rate-limit counters start empty."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.portal.support import make_admin


@pytest.fixture(autouse=True)
def _empty_rate_limits(db) -> None:  # type: ignore[no-untyped-def]
    cache.delete_pattern("*rl:*") if hasattr(cache, "delete_pattern") else _delete_rate_limit_keys()


def _delete_rate_limit_keys() -> None:
    client = cache._cache.get_client()  # type: ignore[attr-defined]
    keys = list(client.scan_iter(match="*rl:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def admin_a(tenant_a):  # type: ignore[no-untyped-def]
    return make_admin(tenant_a, "ada@alpha.example")


@pytest.fixture
def admin_b(tenant_b):  # type: ignore[no-untyped-def]
    return make_admin(tenant_b, "bob@bravo.example")
