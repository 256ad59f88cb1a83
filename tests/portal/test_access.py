"""Every portal and console page: anonymous -> login, password only -> second factor, wrong audience -> 403,
operator roles by method; the admins page (invite, remove, never the last); error pages in the design."""

from __future__ import annotations

import re

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory

from portal.views.base import ROLE_PERMISSIONS, OperatorView, Permission
from tenants import accounts
from tenants.models import Operator, SetupLink, TenantAdmin
from tests.portal.support import PASSWORD, password_only_client, secret_of, verified_client
from tests.support.actors import TEST_ACTOR
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db

PORTAL_PAGES = ("/portal/", "/portal/admins", "/portal/setup/", "/portal/setup/new")


@pytest.mark.parametrize("url", PORTAL_PAGES)
def test_portal_pages_send_anonymous_visitors_to_login(url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 302 and response["Location"].startswith("/portal/login?next=")


@pytest.mark.parametrize("url", PORTAL_PAGES)
def test_portal_pages_send_password_only_sessions_to_the_second_factor(url: str, admin_a) -> None:  # type: ignore[no-untyped-def]
    assert password_only_client(admin_a.user).get(url)["Location"] == "/portal/login/verify"


def test_console_sends_anonymous_visitors_to_console_login() -> None:
    assert Client().get("/console/")["Location"].startswith("/console/login?next=")


def _operator(role: str):  # type: ignore[no-untyped-def]
    operator, _ = accounts.ensure_operator(username=f"{role}@ops.example", email=f"{role}@ops.example", role=role)
    from tests.portal.support import totp_now

    enrolment = accounts.start_totp_enrolment(user=operator.user, label="console")
    device, _ = accounts.confirm_totp(user=operator.user, code=totp_now(enrolment.device), ip="127.0.0.1")
    return operator, device


def test_a_verified_tenant_admin_gets_403_in_the_console_and_an_operator_403_in_the_portal(admin_a) -> None:  # type: ignore[no-untyped-def]
    response = verified_client(admin_a.user, admin_a.device).get("/console/")
    assert response.status_code == 403 and "You don&#x27;t have access to this page" in response.content.decode()
    operator, device = _operator(Operator.Role.SUPPORT)
    assert verified_client(operator.user, device).get("/portal/admins").status_code == 403


def test_django_admin_is_for_verified_admin_operators_only(admin_a) -> None:  # type: ignore[no-untyped-def]
    support, support_device = _operator(Operator.Role.SUPPORT)
    admin, admin_device = _operator(Operator.Role.ADMIN)
    assert Client().get("/console/admin/")["Location"].startswith("/console/admin/login/")
    assert Client().get("/console/admin/login/")["Location"] == "/console/login"  # Django's own login is never shown
    assert verified_client(support.user, support_device).get("/console/admin/").status_code == 302
    assert password_only_client(admin.user).get("/console/admin/").status_code == 302
    assert verified_client(admin.user, admin_device).get("/console/admin/").status_code == 200


class _RevokeTokensView(OperatorView):
    permissions = {"GET": Permission.VIEW, "POST": Permission.MANAGE_TOKENS}

    def get(self, request):  # type: ignore[no-untyped-def]
        return HttpResponse("ok")

    def post(self, request):  # type: ignore[no-untyped-def]
        return HttpResponse("revoked")


def _call(view, method: str, user, device):  # type: ignore[no-untyped-def]
    request = getattr(RequestFactory(), method.lower())("/console/x")
    request.user = user
    # What django_otp's OTPMiddleware sets for a session verified with `device`.
    request.user.otp_device = device
    request.user.is_verified = lambda: True
    request.session = {}
    return view.as_view()(request)


def test_operator_view_maps_methods_to_role_permissions() -> None:
    support, support_device = _operator(Operator.Role.SUPPORT)
    admin, admin_device = _operator(Operator.Role.ADMIN)
    assert _call(_RevokeTokensView, "GET", support.user, support_device).status_code == 200
    with pytest.raises(Exception, match="lacks manage_tokens"):
        _call(_RevokeTokensView, "POST", support.user, support_device)
    assert _call(_RevokeTokensView, "POST", admin.user, admin_device).content == b"revoked"
    assert Permission.MANAGE_TENANTS not in ROLE_PERMISSIONS[Operator.Role.SUPPORT]


def test_a_method_missing_from_the_permission_map_is_refused() -> None:
    admin, device = _operator(Operator.Role.ADMIN)

    class _ReadOnly(OperatorView):
        def post(self, request):  # type: ignore[no-untyped-def]
            return HttpResponse("should not run")

    assert _call(_ReadOnly, "POST", admin.user, device).status_code == 405


def test_unknown_pages_get_the_portal_404_page() -> None:
    response = Client().get("/no/such/page")
    assert response.status_code == 404 and "Page not found" in response.content.decode()
    assert "app.css" in response.content.decode()


# --------------------------------------------------------------------------- admins page


def test_inviting_an_admin_shows_the_link_once_and_the_invite_enrols_the_same_way(admin_a, tenant_a) -> None:  # type: ignore[no-untyped-def]
    client = verified_client(admin_a.user, admin_a.device)
    page = client.post("/portal/admins", {"action": "invite", "email": "Grace@Alpha.example"}).content.decode()
    url = re.search(r'value="(http[^"]+/setup/[^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert url not in client.get("/portal/admins").content.decode()
    landing = Client().get(f"/setup/{secret_of(url)}").content.decode()
    assert "Join Alpha Corp on Rollcall" in landing and "grace@alpha.example" in landing
    invited = Client()
    response = invited.post(f"/setup/{secret_of(url)}", {"email": "evil@else.example", "password": PASSWORD, "password_again": PASSWORD})
    assert response["Location"] == "/portal/enrol"
    new = TenantAdmin.objects.get(user__username="grace@alpha.example")  # the invited address, not the typed one
    assert new.tenant_id == tenant_a.pk and new.invited_by_id == admin_a.user.pk


def test_a_bad_invite_email_is_a_field_error(admin_a) -> None:  # type: ignore[no-untyped-def]
    client = verified_client(admin_a.user, admin_a.device)
    response = client.post("/portal/admins", {"action": "invite", "email": "nope"})
    assert response.status_code == 400 and "Enter a valid email address" in response.content.decode()
    assert not SetupLink.objects.filter(purpose=SetupLink.Purpose.INVITE).exists()


def test_removing_admins_never_removes_the_last_or_yourself(admin_a, tenant_a) -> None:  # type: ignore[no-untyped-def]
    from tests.portal.support import make_admin

    client = verified_client(admin_a.user, admin_a.device)
    alone = client.post("/portal/admins", {"action": "remove", "admin": admin_a.admin.pk})
    assert alone.status_code == 400 and TenantAdmin.objects.filter(tenant=tenant_a).count() == 1
    other = make_admin(tenant_a, "second@alpha.example")
    others_session = verified_client(other.user, other.device)
    myself = client.post("/portal/admins", {"action": "remove", "admin": admin_a.admin.pk})
    assert myself.status_code == 400 and "cannot remove yourself" in myself.content.decode()
    removed = client.post("/portal/admins", {"action": "remove", "admin": other.admin.pk})
    assert removed.status_code == 302 and not TenantAdmin.objects.filter(pk=other.admin.pk).exists()
    assert others_session.get("/portal/admins")["Location"].startswith("/portal/login")


def test_another_tenants_admin_cannot_be_removed(admin_a, admin_b) -> None:  # type: ignore[no-untyped-def]
    client = verified_client(admin_a.user, admin_a.device)
    response = client.post("/portal/admins", {"action": "remove", "admin": admin_b.admin.pk})
    assert response.status_code == 400 and TenantAdmin.objects.filter(pk=admin_b.admin.pk).exists()
    assert admin_b.email not in client.get("/portal/admins").content.decode()


def test_portal_pages_render_in_a_bounded_number_of_queries(admin_a, tenant_a) -> None:  # type: ignore[no-untyped-def]
    from tests.portal.support import make_admin

    for n in range(5):
        make_admin(tenant_a, f"admin{n}@alpha.example")
        accounts.invite_admin(tenant=tenant_a, email=f"invite{n}@alpha.example", invited_by=admin_a.user, actor=TEST_ACTOR)
    client = verified_client(admin_a.user, admin_a.device)
    client.post("/portal/setup/new", {"idp": "okta"})
    for url in ("/portal/admins", "/portal/", "/portal/setup/new"):
        with count_queries(at_most=14):
            assert client.get(url).status_code == 200


def test_the_tenant_schema_is_active_during_the_request_and_restored_after(admin_a, tenant_a) -> None:  # type: ignore[no-untyped-def]
    from tenants.db import tenant_connection

    client = verified_client(admin_a.user, admin_a.device)
    client.post("/portal/setup/new", {"idp": "generic"})
    tenant_connection().set_schema_to_public()
    cid = TenantAdmin.objects.get(pk=admin_a.admin.pk).tenant.connections.get().id
    assert client.get(f"/portal/connections/{cid}/setup/idp").status_code == 200
    assert tenant_connection().schema_name == "public"


def test_a_suspended_tenants_admins_are_refused(admin_a, tenant_a) -> None:  # type: ignore[no-untyped-def]
    from tenants.models import Tenant

    Tenant.objects.filter(pk=tenant_a.pk).update(status=Tenant.Status.SUSPENDED)
    try:
        assert verified_client(admin_a.user, admin_a.device).get("/portal/admins").status_code == 403
    finally:
        Tenant.objects.filter(pk=tenant_a.pk).update(status=Tenant.Status.ACTIVE)
