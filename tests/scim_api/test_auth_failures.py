"""Failed authentications: the same 401 for the client, the cause in the connection's request log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from scim_api.models import AuthFailure, RequestLog
from tenants.models import ScimConnection, ScimToken, Tenant
from tenants.services import create_connection, revoke_tokens, rotate_token
from tests.support.actors import TEST_ACTOR
from tests.support.scim_client import ScimClient

pytestmark = pytest.mark.django_db


def _last_failure() -> RequestLog:
    row = RequestLog.objects.order_by("-id").first()
    assert row is not None and row.status == 401
    return row


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, AuthFailure.MISSING_HEADER),
        ("{token}", AuthFailure.NOT_BEARER),
        ("Basic dXNlcjpwYXNz", AuthFailure.NOT_BEARER),
        ("Bearer Bearer {token}", AuthFailure.BEARER_DOUBLED),
        ("Bearer rcs_not_a_real_token", AuthFailure.UNKNOWN_TOKEN),
    ],
)
def test_header_problems_are_logged_with_their_cause_and_never_the_token(scim, header, reason):
    value = header.format(token=scim.token) if header else None
    r = scim.get("/Users", headers={"Authorization": value})
    assert r.status == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    row = _last_failure()
    assert row.auth_failure == reason.value
    assert row.connection_id == scim.connection_id
    assert scim.token not in str(RequestLog.objects.values_list().get(pk=row.pk))


def test_every_failure_gives_the_client_the_same_answer(scim):
    answers = {
        scim.get("/Users", headers={"Authorization": None}).body["detail"],
        scim.get("/Users", token="rcs_wrong").body["detail"],
        scim.get("/scim/v2/ffffffffffffffffffffffff/Users").body["detail"],
    }
    assert len(answers) == 1


def test_revoked_expired_and_other_connections_tokens_are_told_apart(scim, tenant_a):
    old = scim.token
    rotate_token(connection=ScimConnection.objects.get(pk=scim.connection_id), overlap=timedelta(0), actor=TEST_ACTOR)
    assert scim.get("/Users").status == 401
    assert _last_failure().auth_failure == AuthFailure.EXPIRED_TOKEN
    revoke_tokens(connection=ScimConnection.objects.get(pk=scim.connection_id), actor=TEST_ACTOR)
    assert scim.get("/Users", token=old).status == 401
    assert _last_failure().auth_failure in {AuthFailure.REVOKED_TOKEN, AuthFailure.EXPIRED_TOKEN}
    other = create_connection(tenant=tenant_a, idp="okta", actor=TEST_ACTOR)
    assert scim.get("/Users", token=other.token).status == 401
    assert _last_failure().auth_failure == AuthFailure.OTHER_CONNECTION_TOKEN


def test_a_revoked_token_is_logged_as_revoked(scim):
    ScimToken.objects.filter(connection_id=scim.connection_id).update(revoked_at=timezone.now())
    assert scim.get("/Users").status == 401
    assert _last_failure().auth_failure == AuthFailure.REVOKED_TOKEN


def test_a_disabled_connection_and_a_suspended_tenant_are_logged_as_such(scim, tenant_a):
    ScimConnection.objects.filter(pk=scim.connection_id).update(is_active=False)
    assert scim.get("/Users").status == 401
    assert _last_failure().auth_failure == AuthFailure.CONNECTION_DISABLED
    ScimConnection.objects.filter(pk=scim.connection_id).update(is_active=True)
    Tenant.objects.filter(pk=tenant_a.pk).update(status=Tenant.Status.SUSPENDED)
    assert scim.get("/Users").status == 401
    assert _last_failure().auth_failure == AuthFailure.TENANT_SUSPENDED


def test_an_unknown_connection_logs_nothing_in_any_tenant(scim, tenant_a):
    stranger = ScimClient("ffffffffffffffffffffffff", scim.token, tenant_a)
    assert stranger.get("/Users").status == 401
    assert not RequestLog.objects.exists()
