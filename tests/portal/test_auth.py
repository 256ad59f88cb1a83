"""Sign-in with password then TOTP or a recovery code; enrolment; rate limits; logout; sessions."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from tenants import accounts
from tenants.models import RecoveryCodeDevice, TenantAdmin
from tenants.services import issue_setup_link
from tests.portal.support import PASSWORD, password_only_client, secret_of, totp_now, verified_client
from tests.support.actors import TEST_ACTOR
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db
User = get_user_model()


def _login(client: Client, email: str, password: str = PASSWORD, **extra: Any):  # type: ignore[no-untyped-def]
    return client.post("/portal/login", {"email": email, "password": password}, **extra)


def test_anonymous_visitors_are_sent_to_login_with_next() -> None:
    response = Client().get("/portal/admins")
    assert response.status_code == 302 and response["Location"] == "/portal/login?next=/portal/admins"


def test_password_then_totp_signs_in_and_returns_to_next(admin_a) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.get("/portal/login?next=/portal/admins")
    response = _login(client, admin_a.email.upper())  # emails are case-insensitive
    assert response["Location"] == "/portal/login/verify"
    assert client.get("/portal/admins")["Location"] == "/portal/login/verify"  # password alone is not enough
    response = client.post("/portal/login/verify", {"code": totp_now(admin_a.device, steps_ahead=1)})
    assert response.status_code == 302 and response["Location"] == "/portal/admins"
    assert client.get("/portal/admins").status_code == 200


def test_a_recovery_code_signs_in_once(admin_a) -> None:  # type: ignore[no-untyped-def]
    code = admin_a.recovery_codes[0]
    client = Client()
    _login(client, admin_a.email)
    assert client.post("/portal/login/verify", {"code": code.upper()})["Location"] == "/portal/"
    assert RecoveryCodeDevice.objects.get(user=admin_a.user).remaining == 9
    other = Client()
    _login(other, admin_a.email)
    response = other.post("/portal/login/verify", {"code": code})
    assert response.status_code == 400 and "did not match" in response.content.decode()


def test_recovery_codes_are_stored_only_as_digests(admin_a) -> None:  # type: ignore[no-untyped-def]
    device = RecoveryCodeDevice.objects.get(user=admin_a.user)
    stored = " ".join(device.digests)
    assert len(device.digests) == 10
    for code in admin_a.recovery_codes:
        assert code not in stored and code.replace("-", "") not in stored


def test_wrong_password_says_nothing_about_which_part_was_wrong(admin_a) -> None:  # type: ignore[no-untyped-def]
    wrong = _login(Client(), admin_a.email, "not the password")
    unknown = _login(Client(), "nobody@alpha.example", "not the password")
    for response in (wrong, unknown):
        assert response.status_code == 400 and "Wrong email or password." in response.content.decode()


def test_a_tenant_admin_cannot_sign_in_to_the_console(admin_a) -> None:  # type: ignore[no-untyped-def]
    response = Client().post("/console/login", {"email": admin_a.email, "password": PASSWORD})
    assert response.status_code == 400 and "Wrong email or password." in response.content.decode()


@override_settings(ROLLCALL_LOGIN_MAX_FAILURES_PER_ACCOUNT=3)
def test_failed_passwords_lock_the_account_with_the_wait_time(admin_a) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        assert _login(Client(), admin_a.email, "wrong password!").status_code == 400
    locked = _login(Client(), admin_a.email)  # even the right password, from anywhere
    assert locked.status_code == 429
    assert re.search(r"wait 1[45] minutes", locked.content.decode())
    assert int(locked["Retry-After"]) > 800


@override_settings(ROLLCALL_LOGIN_MAX_FAILURES_PER_IP=4, ROLLCALL_LOGIN_MAX_FAILURES_PER_ACCOUNT=100)
def test_failed_passwords_lock_the_ip_across_accounts(admin_a) -> None:  # type: ignore[no-untyped-def]
    for n in range(4):
        _login(Client(), f"guess{n}@alpha.example", "wrong password!", REMOTE_ADDR="10.9.9.9")
    assert _login(Client(), admin_a.email, REMOTE_ADDR="10.9.9.9").status_code == 429
    assert _login(Client(), admin_a.email, REMOTE_ADDR="10.9.9.8").status_code == 302


@override_settings(ROLLCALL_LOGIN_MAX_FAILURES_PER_ACCOUNT=3)
def test_failed_codes_are_rate_limited(admin_a) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    _login(client, admin_a.email)
    for _ in range(3):
        assert client.post("/portal/login/verify", {"code": "000000"}).status_code == 400
    response = client.post("/portal/login/verify", {"code": totp_now(admin_a.device, steps_ahead=1)})
    assert response.status_code == 429 and "Too many failed attempts" in response.content.decode()
    assert client.get("/portal/admins")["Location"] == "/portal/login/verify"


def test_enrolment_shows_qr_and_manual_key_and_a_wrong_code_changes_nothing(tenant_a) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.post(
        f"/setup/{secret_of(issue_setup_link(tenant=tenant_a, actor=TEST_ACTOR))}",
        {"email": "new@alpha.example", "password": PASSWORD, "password_again": PASSWORD},
    )
    page = client.get("/portal/enrol").content.decode()
    assert "<svg" in page and 'aria-label="Setup key"' in page
    key = re.search(r'id="manual-key" aria-label="Setup key" type="text" value="([A-Z2-7 ]+)"', page).group(1)  # type: ignore[union-attr]
    bad = client.post("/portal/enrol", {"code": "12345"})
    assert bad.status_code == 400 and "6-digit code" in bad.content.decode()
    assert not TOTPDevice.objects.filter(confirmed=True).exists()
    done = client.post("/portal/enrol", {"code": totp_now(key)})
    body = done.content.decode()
    assert done.status_code == 200 and "Save your recovery codes" in body
    assert len(re.findall(r'data-code="[a-z0-9-]+"', body)) == 10
    assert client.get("/portal/").status_code in (200, 302) and client.get("/portal/admins").status_code == 200


def test_the_totp_key_is_the_same_on_reload_and_not_shown_after_enrolment(admin_a, tenant_a) -> None:  # type: ignore[no-untyped-def]
    user = User.objects.create_user("fresh@alpha.example", "fresh@alpha.example", PASSWORD)
    TenantAdmin.objects.create(user=user, tenant=tenant_a)
    client = password_only_client(user)
    first = client.get("/portal/enrol").content.decode()
    second = client.get("/portal/enrol").content.decode()
    key = lambda page: re.search(r'id="manual-key"[^>]*value="([^"]+)"', page).group(1)  # type: ignore[union-attr]  # noqa: E731
    assert key(first) == key(second)
    enrolled = password_only_client(admin_a.user)
    assert enrolled.get("/portal/enrol")["Location"] == "/portal/login/verify"


def test_logout_ends_the_session(admin_a) -> None:  # type: ignore[no-untyped-def]
    client = verified_client(admin_a.user, admin_a.device)
    assert client.get("/portal/admins").status_code == 200
    assert client.post("/portal/logout")["Location"] == "/portal/login"
    assert client.get("/portal/admins")["Location"].startswith("/portal/login")


def test_logout_needs_post() -> None:
    assert Client().get("/portal/logout").status_code == 405


def test_password_only_sessions_are_short_and_verified_ones_last_a_working_day(admin_a, settings) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    _login(client, admin_a.email)
    assert client.session.get_expiry_age() == 600
    client.post("/portal/login/verify", {"code": totp_now(admin_a.device, steps_ahead=1)})
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE


def test_session_and_csrf_cookies_are_httponly_and_lax(admin_a) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.get("/portal/login")
    response = _login(client, admin_a.email)
    session = response.cookies["sessionid"]
    assert session["httponly"] and session["samesite"] == "Lax"
    page = client.get("/portal/login/verify")
    csrf = page.cookies.get("csrftoken") or client.cookies["csrftoken"]
    assert csrf["httponly"] and csrf["samesite"] == "Lax"


def test_pages_send_a_strict_csp_and_deny_framing() -> None:
    response = Client().get("/portal/login")
    csp = response["Content-Security-Policy"]
    # A nonce is added only on pages that use one; none of the portal's pages has inline script.
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert "style-src 'self'" in csp and "default-src 'self'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert "<script>" not in response.content.decode() and " style=" not in response.content.decode()


def test_forms_are_csrf_protected(admin_a) -> None:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)
    response = client.post("/portal/login", {"email": admin_a.email, "password": PASSWORD})
    assert response.status_code == 403 and "This form has expired" in response.content.decode()


def test_operator_enrols_totp_on_first_console_sign_in() -> None:
    operator, password = accounts.ensure_operator(username="op@rollcall.local", email="op@rollcall.local")
    assert password is not None
    again, no_password = accounts.ensure_operator(username="op@rollcall.local", email="op@rollcall.local")
    assert again.pk == operator.pk and no_password is None
    client = Client()
    response = client.post("/console/login", {"email": "op@rollcall.local", "password": password})
    assert response["Location"] == "/console/enrol"
    assert client.get("/console/")["Location"] == "/console/enrol"
    key = re.search(r'id="manual-key"[^>]*value="([^"]+)"', client.get("/console/enrol").content.decode()).group(1)  # type: ignore[union-attr]
    assert "Save your recovery codes" in client.post("/console/enrol", {"code": totp_now(key)}).content.decode()
    assert client.get("/console/").status_code == 200


def test_the_login_page_renders_in_a_bounded_number_of_queries() -> None:  # type: ignore[no-untyped-def]
    with count_queries(at_most=2):
        Client().get("/portal/login")
