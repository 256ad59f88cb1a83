"""/setup/<secret>: landing, account creation, single use, expiry, revocation, and what each shows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from tenants.models import SetupLink, TenantAdmin
from tenants.services import issue_setup_link
from tests.portal.support import PASSWORD, secret_of
from tests.support.actors import TEST_ACTOR
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db
User = get_user_model()


def _form(email: str = "it@alpha.example", password: str = PASSWORD, again: str | None = None) -> dict[str, str]:
    return {"email": email, "password": password, "password_again": password if again is None else again}


def test_landing_names_the_tenant_and_what_the_admin_needs_and_records_the_opening(tenant_a) -> None:  # type: ignore[no-untyped-def]
    url = issue_setup_link(tenant=tenant_a, actor=TEST_ACTOR)
    response = Client().get(f"/setup/{secret_of(url)}")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Alpha Corp" in body and "Admin rights in your identity provider and about 10 minutes" in body
    link = SetupLink.objects.get(tenant=tenant_a, revoked_at__isnull=True)
    assert link.status == SetupLink.Status.OPENED and link.opened_at is not None


def test_creating_the_account_signs_in_unverified_and_sends_to_totp_enrolment(tenant_a) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    response = client.post(f"/setup/{secret_of(issue_setup_link(tenant=tenant_a, actor=TEST_ACTOR))}", _form())
    assert response.status_code == 302 and response["Location"] == "/portal/enrol"
    admin = TenantAdmin.objects.select_related("user").get(tenant=tenant_a)
    assert admin.user.username == "it@alpha.example"
    # Nothing sensitive yet: the portal sends the unverified session back to enrolment.
    assert client.get("/portal/").headers["Location"] == "/portal/enrol"


def test_the_link_works_once(tenant_a) -> None:  # type: ignore[no-untyped-def]
    secret = secret_of(issue_setup_link(tenant=tenant_a, actor=TEST_ACTOR))
    Client().post(f"/setup/{secret}", _form())
    again = Client().get(f"/setup/{secret}")
    assert "This link was already used" in again.content.decode()
    second = Client().post(f"/setup/{secret}", _form(email="other@alpha.example"))
    assert "This link was already used" in second.content.decode()
    assert TenantAdmin.objects.filter(tenant=tenant_a).count() == 1


def test_issuing_a_new_link_revokes_the_old_one(tenant_a) -> None:  # type: ignore[no-untyped-def]
    old = secret_of(issue_setup_link(tenant=tenant_a, actor=TEST_ACTOR))
    new = secret_of(issue_setup_link(tenant=tenant_a, actor=TEST_ACTOR))
    assert "This link was replaced" in Client().get(f"/setup/{old}").content.decode()
    assert Client().get(f"/setup/{new}").status_code == 200
    assert SetupLink.objects.filter(tenant=tenant_a, status=SetupLink.Status.REVOKED).count() >= 1


def test_an_expired_link_says_so_and_is_marked_expired(tenant_a) -> None:  # type: ignore[no-untyped-def]
    secret = secret_of(issue_setup_link(tenant=tenant_a, actor=TEST_ACTOR))
    SetupLink.objects.filter(tenant=tenant_a, revoked_at__isnull=True).update(expires_at=timezone.now() - timedelta(seconds=1))
    body = Client().get(f"/setup/{secret}").content.decode()
    assert "This setup link has expired" in body and "Ask your Rollcall contact" in body
    assert SetupLink.objects.filter(tenant=tenant_a, status=SetupLink.Status.EXPIRED).exists()


def test_an_unknown_link_gets_the_portal_page_not_a_django_error() -> None:
    response = Client().get("/setup/not-a-real-secret")
    assert response.status_code == 200 and "This link does not work" in response.content.decode()
    assert "Rollcall" in response.content.decode()


def test_new_links_expire_after_seven_days_by_default(tenant_a) -> None:  # type: ignore[no-untyped-def]
    issue_setup_link(tenant=tenant_a, actor=TEST_ACTOR)
    link = SetupLink.objects.get(tenant=tenant_a, revoked_at__isnull=True)
    assert timedelta(days=6, hours=23) < link.expires_at - timezone.now() <= timedelta(days=7)


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        (_form(email="not-an-email"), "email", "Enter a valid email address"),
        (_form(password="short"), "password", "too short"),
        (_form(password="password123456"), "password", "too common"),
        (_form(again="something else entirely"), "password_again", "The two passwords differ"),
    ],
)
def test_bad_account_input_shows_the_field_error_and_changes_nothing(tenant_a, form, field, message) -> None:  # type: ignore[no-untyped-def]
    secret = secret_of(issue_setup_link(tenant=tenant_a, actor=TEST_ACTOR))
    response = Client().post(f"/setup/{secret}", form)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not User.objects.exists()
    assert SetupLink.objects.get(tenant=tenant_a, revoked_at__isnull=True).used_at is None


def test_an_existing_email_is_refused(tenant_a, admin_b) -> None:  # type: ignore[no-untyped-def]
    secret = secret_of(issue_setup_link(tenant=tenant_a, actor=TEST_ACTOR))
    response = Client().post(f"/setup/{secret}", _form(email=admin_b.email.upper()))
    assert response.status_code == 400 and "already exists" in response.content.decode()
    assert not TenantAdmin.objects.filter(tenant=tenant_a).exists()


def test_the_landing_page_renders_in_a_bounded_number_of_queries(tenant_a) -> None:  # type: ignore[no-untyped-def]
    secret = secret_of(issue_setup_link(tenant=tenant_a, actor=TEST_ACTOR))
    with count_queries(at_most=6):
        Client().get(f"/setup/{secret}")


def test_the_link_secret_never_reaches_a_log_line(tenant_a, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    from portal.logging import RedactSecrets

    secret = secret_of(issue_setup_link(tenant=tenant_a, actor=TEST_ACTOR))
    handler_filter = RedactSecrets()
    with caplog.at_level(logging.DEBUG):
        Client().post(f"/setup/{secret}", _form(password="short"))  # a 400: Django logs the path
        Client(enforce_csrf_checks=True).post(f"/setup/{secret}", _form())  # a CSRF failure: logged too
    assert caplog.records, "Django logs 4xx paths; the filter must see them"
    for record in caplog.records:
        handler_filter.filter(record)
        assert secret not in record.getMessage()
    assert any("/setup/[redacted]" in r.getMessage() for r in caplog.records)


def test_the_logging_config_redacts_on_the_console_handler() -> None:
    from django.conf import settings

    handlers: dict[str, dict[str, list[str]]] = settings.LOGGING["handlers"]  # type: ignore[assignment]
    assert "redact_secrets" in handlers["console"]["filters"]
