"""Authentication and tenant isolation: one 401 for every failure, no cross-tenant reads or writes."""

from __future__ import annotations

import pytest

from directory.models import DirectoryUser
from tenants.context import tenant_schema
from tenants.db import tenant_connection
from tenants.models import ScimToken
from tenants.services import create_connection, revoke_tokens, rotate_token
from tests.support.actors import TEST_ACTOR
from tests.support.scim_client import ScimClient

pytestmark = pytest.mark.django_db


def _is_401(r):
    return r.status == 401 and r["status"] == "401" and r.headers.get("WWW-Authenticate", "").startswith("Bearer")


def test_missing_bad_and_unknown_connection_get_the_same_401(scim):
    no_token = scim.get("/Users", token="")
    bad_token = scim.get("/Users", token="rcs_wrong")
    unknown = scim.get("/scim/v2/ffffffffffffffffffffffff/Users")
    assert _is_401(no_token) and _is_401(bad_token) and _is_401(unknown)
    assert no_token.body == bad_token.body == unknown.body


def test_tokens_are_stored_only_as_digests(scim):
    stored = ScimToken.objects.get(connection_id=scim.connection_id)
    assert scim.token not in (stored.digest, stored.prefix)
    assert len(stored.digest) == 64


def test_revoked_token_is_rejected_immediately_without_the_verified_token_cache(scim, settings):
    settings.ROLLCALL_SCIM_AUTH_CACHE_SECONDS = 0
    conn = ScimToken.objects.get(connection_id=scim.connection_id).connection
    assert scim.get("/Users").status == 200
    revoke_tokens(connection=conn, actor=TEST_ACTOR)
    assert _is_401(scim.get("/Users"))


def test_a_revocation_takes_effect_within_the_cache_time(scim, settings):
    """Verified tokens are trusted for ROLLCALL_SCIM_AUTH_CACHE_SECONDS (1 s by default) per process."""
    import time

    settings.ROLLCALL_SCIM_AUTH_CACHE_SECONDS = 0.3
    conn = ScimToken.objects.get(connection_id=scim.connection_id).connection
    assert scim.get("/Users").status == 200  # verified and remembered
    revoke_tokens(connection=conn, actor=TEST_ACTOR)
    deadline = time.monotonic() + 2.0
    while scim.get("/Users?count=0").status == 200:
        assert time.monotonic() < deadline, "a revoked token still worked after the cache time"
        time.sleep(0.05)
    assert _is_401(scim.get("/Users"))


def test_rotation_keeps_old_token_during_overlap(scim):
    conn = ScimToken.objects.get(connection_id=scim.connection_id).connection
    issued = rotate_token(connection=conn, actor=TEST_ACTOR)
    assert scim.get("/Users").status == 200
    assert scim.get("/Users", token=issued.token).status == 200


def test_expired_token_is_rejected(scim):
    from datetime import timedelta

    from django.utils import timezone

    ScimToken.objects.filter(connection_id=scim.connection_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _is_401(scim.get("/Users"))


def test_token_of_tenant_a_cannot_use_tenant_b_connection(scim, scim_b):
    r = scim_b.get("/Users", token=scim.token)
    assert _is_401(r)


def test_tenant_a_cannot_read_or_change_tenant_b_users(scim, scim_b):
    b_user = scim_b.create_user("secret@bravo.test")
    assert b_user.status == 201
    assert scim.get(f"/Users/{b_user['id']}").status == 404
    assert scim.patch_ops(f"/Users/{b_user['id']}", {"op": "replace", "path": "active", "value": False}).status == 404
    assert scim.delete(f"/Users/{b_user['id']}").status == 404
    assert scim.put(f"/Users/{b_user['id']}", {"userName": "stolen"}).status == 404
    assert scim.get('/Users?filter=userName eq "secret@bravo.test"')["totalResults"] == 0
    assert scim.get("/Users")["totalResults"] == 0
    assert scim.create_user("secret@bravo.test").status == 201  # uniqueness is per tenant
    assert scim_b.get(f"/Users/{b_user['id']}")["active"] is True


def test_tenant_a_cannot_add_tenant_b_users_to_its_groups(scim, scim_b):
    b_user = scim_b.create_user("member@bravo.test")
    r = scim.create_group("Mine", [b_user["id"]])
    assert r.status == 400


def test_data_lives_in_each_tenants_schema(scim, scim_b, tenant_a, tenant_b):
    scim.create_user("a@alpha.test")
    scim_b.create_user("b@bravo.test")
    tenant_connection().set_tenant(tenant_a)
    assert list(DirectoryUser.objects.values_list("user_name", flat=True)) == ["a@alpha.test"]
    tenant_connection().set_tenant(tenant_b)
    assert list(DirectoryUser.objects.values_list("user_name", flat=True)) == ["b@bravo.test"]


def test_second_connection_of_a_tenant_sees_the_same_directory(scim, tenant_a):
    created = scim.create_user("shared@alpha.test")
    issued = create_connection(tenant=tenant_a, idp="okta", actor=TEST_ACTOR)
    other = ScimClient(issued.connection.id, issued.token, tenant_a)
    assert other.get(f"/Users/{created['id']}").status == 200


def test_a_host_header_outside_allowed_hosts_is_a_scim_400_not_a_500(scim, settings):
    settings.PUBLIC_URL_CONFIGURED = False  # absolute URLs come from the Host header
    response = scim.post("/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "host@example.com"}, headers={"Host": "evil.example"})
    assert response.status == 400 and "scimType" not in response.body
    assert "Host header" in response.body["detail"]
    assert scim.get('/Users?filter=userName eq "host@example.com"').body["totalResults"] == 0  # nothing applied


def test_errors_are_never_html(scim):
    r = scim.request("POST", "/Users", raw=b"\xff\xfe not json")
    assert r.status == 400
    assert r.headers["Content-Type"] == "application/scim+json"


def test_the_isolation_check_fails_when_the_second_tenant_holds_the_first_ones_data(tenant_a, tenant_b):
    """The after-each-test isolation check (tests.support.isolation) can fail: here it must."""
    from tests.support.directory import make_user
    from tests.support.isolation import assert_other_tenant_sees_nothing

    with tenant_schema(tenant_a):
        make_user("a@alpha.test")
    with tenant_schema(tenant_b):
        make_user("leaked@alpha.test")
    with pytest.raises(AssertionError, match="tenant B has users"):
        assert_other_tenant_sees_nothing(tenant_a)
