"""Console support access: starting and ending a read-only session (audited, visible to the tenant's
admins), and the portal letting an operator with an active session read, never write."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tenants.audit import AuditWindow, recent_audit_events
from tenants.models import SupportSession
from tests.portal.support import make_admin, verified_client

pytestmark = pytest.mark.django_db

PORTAL_PAGES = ("/portal/setup/new", "/portal/admins", "/portal/activity/audit", "/portal/notifications", "/portal/directory")


def _audit_types(tenant) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.type for e in recent_audit_events(AuditWindow(tenant_id=str(tenant.pk)))]


def _start(signed_in, tenant, reason: str = "ticket 4412", minutes: int = 30):  # type: ignore[no-untyped-def]
    return signed_in.client.post(f"/console/tenants/{tenant.slug}/support", {"action": "start", "reason": reason, "minutes": minutes})


def test_the_support_page_renders_for_support_and_admin(support_operator, admin_operator, tenant_a):  # type: ignore[no-untyped-def]
    for signed_in in (support_operator, admin_operator):
        body = signed_in.client.get(f"/console/tenants/{tenant_a.slug}/support").content.decode()
        assert "Start support session" in body and "No support sessions yet" in body and 'value="30"' in body
    assert support_operator.client.get("/console/tenants/nobody/support").status_code == 404
    assert support_operator.client.post("/console/tenants/nobody/support/open").status_code == 404


def test_starting_and_ending_a_session_is_audited_and_listed(support_operator, tenant_a):  # type: ignore[no-untyped-def]
    url = f"/console/tenants/{tenant_a.slug}/support"
    assert _start(support_operator, tenant_a, minutes=45).status_code == 302
    session = SupportSession.objects.get(tenant=tenant_a)
    assert session.reason == "ticket 4412" and timedelta(minutes=44) < session.expires_at - session.started_at <= timedelta(minutes=45)
    started = recent_audit_events(AuditWindow(tenant_id=str(tenant_a.pk)))[0]
    assert (started.type, started.actor_label, started.actor_role, started.reason) == (
        "support_session.started", "support@ops.example", "support", "ticket 4412"
    )
    body = support_operator.client.get(url).content.decode()
    assert "You are viewing Alpha Corp until" in body and "Open the portal as support" in body and "ticket 4412" in body

    assert support_operator.client.post(url, {"action": "end"}).status_code == 302

    session.refresh_from_db()
    assert session.ended_at is not None and _audit_types(tenant_a)[0] == "support_session.ended"
    body = support_operator.client.get(url).content.decode()
    assert "Start support session" in body and "Ended" in body


def test_a_session_needs_a_reason_and_a_sane_length(support_operator, tenant_a):  # type: ignore[no-untyped-def]
    response = _start(support_operator, tenant_a, reason="")
    assert response.status_code == 400 and "This field is required" in response.content.decode()
    response = _start(support_operator, tenant_a, minutes=999)
    assert response.status_code == 400 and "less than or equal to 240" in response.content.decode()
    assert not SupportSession.objects.exists() and "support_session.started" not in _audit_types(tenant_a)


def test_a_second_session_while_one_is_active_is_refused_with_a_message(support_operator, tenant_a):  # type: ignore[no-untyped-def]
    _start(support_operator, tenant_a)
    response = _start(support_operator, tenant_a)
    assert response.status_code == 400 and "already have a support session" in response.content.decode()


def test_an_operator_without_a_session_gets_403_in_the_portal(support_operator, tenant_a):  # type: ignore[no-untyped-def]
    client = support_operator.client
    assert client.get("/portal/admins").status_code == 403
    # Opening the portal without an active session sends the operator back to start one.
    response = client.post(f"/console/tenants/{tenant_a.slug}/support/open")
    assert response.status_code == 302 and response["Location"].endswith("/support?expired=1")
    assert client.get("/portal/admins").status_code == 403


def test_with_a_session_the_portal_reads_with_a_banner_and_refuses_writes(support_operator, tenant_a, tenant_b):  # type: ignore[no-untyped-def]
    client = support_operator.client
    _start(support_operator, tenant_a)
    response = client.post(f"/console/tenants/{tenant_a.slug}/support/open")
    assert response.status_code == 302 and response["Location"] == "/portal/"
    session = SupportSession.objects.get(tenant=tenant_a)
    for url in PORTAL_PAGES:
        page = client.get(url)
        assert page.status_code == 200, url
        assert f"Rollcall support is viewing read-only until {session.expires_at:%H:%M} UTC" in page.content.decode(), url
    assert "Alpha Corp" in client.get("/portal/", follow=True).content.decode()
    refused = client.post("/portal/admins", {"email": "mallory@alpha.example"})
    assert refused.status_code == 403
    assert client.post("/portal/notifications", {}).status_code == 403
    # The session is for Alpha only: pointing the session key at Bravo gives nothing.
    store = client.session
    store["support_tenant_id"] = str(tenant_b.pk)
    store.save()
    assert client.get("/portal/admins").status_code == 403


def test_after_expiry_or_ending_the_portal_refuses_the_operator(support_operator, tenant_a):  # type: ignore[no-untyped-def]
    client = support_operator.client
    _start(support_operator, tenant_a)
    client.post(f"/console/tenants/{tenant_a.slug}/support/open")
    assert client.get("/portal/admins").status_code == 200
    SupportSession.objects.filter(tenant=tenant_a).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get("/portal/admins").status_code == 403
    _start(support_operator, tenant_a)
    client.post(f"/console/tenants/{tenant_a.slug}/support/open")
    assert client.get("/portal/admins").status_code == 200
    client.post(f"/console/tenants/{tenant_a.slug}/support", {"action": "end"})
    assert client.get("/portal/admins").status_code == 403


def test_the_tenants_admins_see_support_access_in_their_activity_log(support_operator, tenant_a):  # type: ignore[no-untyped-def]
    admin = make_admin(tenant_a, "ada@alpha.example")
    _start(support_operator, tenant_a, reason="checking a stuck deprovision")
    body = verified_client(admin.user, admin.device).get("/portal/activity/audit").content.decode()
    assert "Rollcall support is viewing your portal from" in body and "reason: checking a stuck deprovision" in body
    assert "Rollcall support" in body and "Opened your portal for support" in body
