"""Fixtures for tests that drive tenant A over SCIM HTTP (tests/scim_api, tests/idp, tests/directory)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tenants.context import tenant_schema
from tests.support.isolation import assert_other_tenant_sees_nothing

# Fixtures whose tests write to tenant B on purpose and assert isolation themselves.
SECOND_TENANT_FIXTURES = frozenset({"tenant_b", "scim_b", "bravo"})


@pytest.fixture(autouse=True)
def tenant_a_schema_and_isolation(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests here inspect tenant A's directory: its schema is active for the test body (the SCIM
    client restores it after every call); afterwards tenant B must have seen nothing of it."""
    if "tenant_a" not in request.fixturenames and "scim" not in request.fixturenames:
        yield
        return
    tenant_a = request.getfixturevalue("tenant_a")
    for name in request.fixturenames:  # set up every other fixture (tenants are created in public) first
        if name not in {"request", "tenant_a_schema_and_isolation"}:
            request.getfixturevalue(name)
    with tenant_schema(tenant_a):
        yield
    if SECOND_TENANT_FIXTURES.isdisjoint(request.fixturenames):
        assert_other_tenant_sees_nothing(tenant_a)
