"""Wizard steps 7 and 8: the test-user checklist ticks from real requests and pipeline runs; skipping
leaves "not verified"; the summary completes the setup and the setup link."""

from __future__ import annotations

import pytest

from directory.access import issue_app_token, start_app_session
from tenants.context import tenant_schema
from tenants.models import SetupLink
from tests.portal.flows import HTMX, connect, through_mapping, through_roles, user_body
from tests.portal.support import verified_client
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_a(admin_a):  # type: ignore[no-untyped-def]
    return verified_client(admin_a.user, admin_a.device)


@pytest.fixture
def at_verify(client_a, tenant_a):  # type: ignore[no-untyped-def]
    connected = connect(client_a, tenant_a)
    through_mapping(client_a, connected)
    through_roles(client_a, connected)
    return connected


def _jane(c) -> str:  # type: ignore[no-untyped-def]
    return c.idp.get('/Users?filter=userName eq "jane.doe@alpha.example"').body["Resources"][0]["id"]


def _poll(client, c):  # type: ignore[no-untyped-def]
    return client.get(c.url("verify"), **HTMX)


def test_the_checklist_follows_the_first_user_and_ticks_as_requests_are_applied(client_a, at_verify) -> None:  # type: ignore[no-untyped-def]
    jane = _jane(at_verify)
    waiting = _poll(client_a, at_verify)
    body = waiting.content.decode()
    assert waiting.status_code == 200 and 'hx-trigger="every 2s"' in body
    assert "Following Jane Doe" not in body or "Following" in body
    assert "(received, being applied)" in body  # created, not yet handled by the pipeline
    at_verify.drain()
    created = _poll(client_a, at_verify).content.decode()
    assert "1 of 6 done" in created and "POST</strong> /Users" in created and "jane.doe@alpha.example" in created

    idp = at_verify.idp
    assert idp.patch_ops(f"/Users/{jane}", {"op": "replace", "path": "title", "value": "Engineer"}).status in (200, 204)
    group = idp.create_group("Testers", [jane]).body["id"]
    assert idp.patch_ops(f"/Groups/{group}", {"op": "remove", "path": f'members[value eq "{jane}"]'}).status in (200, 204)
    with tenant_schema(at_verify.tenant):
        start_app_session(user_id=jane, user_agent="test browser")
        issue_app_token(user_id=jane, name="cli")
    assert idp.patch_ops(f"/Users/{jane}", {"op": "replace", "path": "active", "value": False}).status in (200, 204)
    at_verify.drain()
    mid = _poll(client_a, at_verify).content.decode()
    assert "5 of 6 done" in mid and "Changed: title" in mid and "Member of Testers" in mid and "No longer in Testers" in mid
    assert "1 app session ended" in mid and "1 API token revoked" in mid and "Access removed" in mid

    assert idp.patch_ops(f"/Users/{jane}", {"op": "replace", "path": "active", "value": True}).status in (200, 204)
    at_verify.drain()
    done = _poll(client_a, at_verify)
    assert done.status_code == 286 and "Verified: the whole life cycle works" in done.content.decode()
    assert 'hx-trigger="every 2s"' not in done.content.decode()
    assert at_verify.setup().verified_at is not None and at_verify.setup().step == "done"


def test_another_of_the_connections_users_can_be_followed(client_a, at_verify) -> None:  # type: ignore[no-untyped-def]
    sam = at_verify.idp.post("/Users", user_body("sam.lee@alpha.example")).body["id"]
    response = client_a.post(at_verify.url("verify"), {"action": "choose_user", "user": sam})
    assert response.status_code == 302 and at_verify.setup().test_user_id == sam
    assert "Following Sam Lee" in client_a.get(at_verify.url("verify")).content.decode()


def test_a_user_of_another_connection_or_tenant_cannot_be_chosen(client_a, at_verify, admin_b, tenant_b) -> None:  # type: ignore[no-untyped-def]
    other = connect(verified_client(admin_b.user, admin_b.device), tenant_b, first_user="bob@bravo.example")
    bob = other.idp.get("/Users").body["Resources"][0]["id"]
    response = client_a.post(at_verify.url("verify"), {"action": "choose_user", "user": bob})
    assert response.status_code == 400 and "Choose one of this connection" in response.content.decode()
    assert at_verify.setup().test_user_id == ""


def test_skipping_leaves_a_not_verified_badge_everywhere(client_a, at_verify) -> None:  # type: ignore[no-untyped-def]
    response = client_a.post(at_verify.url("verify"), {"action": "skip"})
    assert response["Location"] == at_verify.url("done")
    setup = at_verify.setup()
    assert setup.verify_skipped_at is not None and setup.verified_at is None
    done = client_a.get(at_verify.url("done")).content.decode()
    assert "Not verified yet" in done
    assert "Not verified" in client_a.get("/portal/").content.decode()
    assert "Not verified" in client_a.get("/portal/connections").content.decode()


def test_the_summary_completes_the_setup_and_the_setup_link(client_a, at_verify, tenant_a) -> None:  # type: ignore[no-untyped-def]
    client_a.post(at_verify.url("verify"), {"action": "skip"})
    page = client_a.get(at_verify.url("done")).content.decode()
    assert "Okta is set up" in page
    for fact in ("Identity provider", "Token", "Attribute mapping", "Okta's defaults", "Roles", "Verification"):
        assert fact in page
    assert "created today" in page
    assert at_verify.setup().completed_at is not None
    link = SetupLink.objects.get(tenant=tenant_a, purpose=SetupLink.Purpose.SETUP, used_at__isnull=False)
    assert link.status == SetupLink.Status.COMPLETED


def test_the_summary_is_not_reachable_before_step_7(client_a, tenant_a) -> None:  # type: ignore[no-untyped-def]
    connected = connect(client_a, tenant_a)
    assert client_a.get(connected.url("done"))["Location"] == connected.url("mapping")
    assert client_a.post(connected.url("verify"), {"action": "skip"})["Location"] == connected.url("mapping")
    assert connected.setup().verify_skipped_at is None


def test_verify_pages_of_another_tenant_are_404(client_a, at_verify, admin_b) -> None:  # type: ignore[no-untyped-def]
    other = verified_client(admin_b.user, admin_b.device)
    for step in ("verify", "done"):
        assert other.get(at_verify.url(step)).status_code == 404
    assert other.post(at_verify.url("verify"), {"action": "skip"}).status_code == 404
    assert at_verify.setup().verify_skipped_at is None


def test_the_checklist_polls_in_a_bounded_number_of_queries(client_a, at_verify) -> None:  # type: ignore[no-untyped-def]
    jane = _jane(at_verify)
    with count_queries(include_search_path=False) as few:
        _poll(client_a, at_verify)
    for n in range(15):
        at_verify.idp.patch_ops(f"/Users/{jane}", {"op": "replace", "path": "title", "value": f"Title {n}"})
    at_verify.drain()
    with count_queries(include_search_path=False) as many:
        _poll(client_a, at_verify)
    assert many.count <= few.count + 1, (few.count, many.count)  # +1: the update row now reads its request
