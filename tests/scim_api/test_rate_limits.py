"""Rate limits: 429 + Retry-After as a SCIM error, per connection, per address, and for failed logins."""

from __future__ import annotations

import uuid

import pytest

from tenants.services import create_connection
from tests.support.actors import TEST_ACTOR
from tests.support.scim_client import ScimClient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _long_windows(settings):  # type: ignore[no-untyped-def]
    """Windows far longer than a test, so no test straddles a window boundary (counts would reset)."""
    settings.ROLLCALL_SCIM_RATE_WINDOW = 3600
    settings.ROLLCALL_SCIM_FAILED_AUTH_WINDOW = 3600


@pytest.fixture
def address() -> str:
    """A source address of this test's own (the counters live in the shared Redis)."""
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"


def test_a_connection_over_its_limit_gets_429_with_retry_after(scim, settings, address):
    settings.ROLLCALL_SCIM_RATE_PER_CONNECTION = 5
    scim.remote_addr = address
    statuses = [scim.get("/Users?count=1").status for _ in range(7)]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
    refused = scim.get("/Users?count=1")
    assert refused.body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert refused.body["status"] == "429"
    assert 1 <= int(refused.headers["Retry-After"]) <= settings.ROLLCALL_SCIM_RATE_WINDOW


def test_one_connections_flood_does_not_throttle_another(scim, tenant_a, settings, address):
    settings.ROLLCALL_SCIM_RATE_PER_CONNECTION = 3
    scim.remote_addr = address
    for _ in range(4):
        scim.get("/Users?count=1")
    assert scim.get("/Users?count=1").status == 429
    other = ScimClient.for_tenant(tenant_a)
    other.remote_addr = address
    assert other.get("/Users?count=1").status == 200


def test_an_address_over_its_limit_is_throttled_across_connections(scim, tenant_a, settings, address):
    settings.ROLLCALL_SCIM_RATE_PER_IP = 4
    clients = [scim, ScimClient.for_tenant(tenant_a)]
    for client in clients:
        client.remote_addr = address
    statuses = [clients[i % 2].get("/Users?count=1").status for i in range(6)]
    assert statuses.count(429) == 2


def test_failed_authentications_lock_out_the_address_even_with_the_right_token(scim, settings, address):
    settings.ROLLCALL_SCIM_FAILED_AUTH_PER_IP = 3
    scim.remote_addr = address
    for _ in range(4):
        assert scim.get("/Users", token="rcs_guess").status == 401
    assert scim.get("/Users").status == 429  # the right token, but from an address that kept guessing
    elsewhere = ScimClient(scim.connection_id, scim.token, scim.tenant)
    elsewhere.remote_addr = address.rsplit(".", 1)[0] + ".254"
    assert elsewhere.get("/Users").status == 200


def test_the_defaults_let_an_idp_sync_through(scim, tenant_a, address):
    """Okta and Entra send tens of requests a second at most; the defaults allow far more."""
    scim.remote_addr = address
    assert all(scim.get("/Users?count=1").status == 200 for _ in range(50))
    assert create_connection(tenant=tenant_a, idp="entra", actor=TEST_ACTOR).token
