"""The workspace after setup: Overview, Connections, Directory, Activity, Notifications over HTTP.

Every page: anonymous -> login, password only -> second factor, another tenant's ids -> 404, bad input
-> field errors and nothing changed, and a query count that does not grow with the data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from directory.models import DirectoryUser, RoleGrant
from provisioning.models import Notification
from provisioning.notifications import raise_notification
from scim_api.models import RequestLog
from tenants.context import TenantRef, tenant_schema
from tenants.models import ScimConnection, ScimToken, TenantAdmin
from tests.portal.flows import connect, user_body
from tests.portal.support import password_only_client, verified_client
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db

PAGES = (
    "/portal/",
    "/portal/connections",
    "/portal/directory",
    "/portal/directory/groups",
    "/portal/directory/agents",
    "/portal/roles",
    "/portal/mappings",
    "/portal/activity",
    "/portal/activity/audit",
    "/portal/notifications",
)


@pytest.fixture(autouse=True)
def _no_verified_token_cache(settings) -> None:  # type: ignore[no-untyped-def]
    """Revocation and disabling take effect within ROLLCALL_SCIM_AUTH_CACHE_SECONDS; here at once."""
    settings.ROLLCALL_SCIM_AUTH_CACHE_SECONDS = 0


@pytest.fixture
def client_a(admin_a):  # type: ignore[no-untyped-def]
    return verified_client(admin_a.user, admin_a.device)


@pytest.fixture
def connected(client_a, tenant_a):  # type: ignore[no-untyped-def]
    return connect(client_a, tenant_a)


@pytest.mark.parametrize("url", PAGES)
def test_workspace_pages_need_a_signed_in_verified_admin(url, admin_a) -> None:  # type: ignore[no-untyped-def]
    assert Client().get(url)["Location"].startswith("/portal/login?next=")
    assert password_only_client(admin_a.user).get(url)["Location"] == "/portal/login/verify"


@pytest.mark.parametrize("url", PAGES)
def test_workspace_pages_render_for_a_connected_tenant(url, client_a, connected) -> None:  # type: ignore[no-untyped-def]
    response = client_a.get(url, follow=True)
    assert response.status_code == 200, url


def _populate(c, n: int, prefix: str) -> None:  # type: ignore[no-untyped-def]
    ids = [c.idp.post("/Users", user_body(f"{prefix}{i}.x@alpha.example")).body["id"] for i in range(n)]
    c.idp.create_group(f"{prefix} group", ids)
    c.idp.get("/Users/not-a-user")  # a 404 in the log
    c.drain()


@pytest.mark.parametrize("url", [*PAGES, "user"])
def test_workspace_pages_run_the_same_queries_for_few_and_many_rows(url, client_a, connected) -> None:  # type: ignore[no-untyped-def]
    _populate(connected, 3, "few")
    with tenant_schema(connected.tenant):
        jane = DirectoryUser.objects.get(user_name="jane.doe@alpha.example")
    target = f"/portal/directory/users/{jane.pk}" if url == "user" else url
    client_a.get(target, follow=True)  # warm per-process caches (mapping, profiles)
    with count_queries(include_search_path=False) as few:
        assert client_a.get(target, follow=True).status_code == 200
    _populate(connected, 60, "many")
    with tenant_schema(connected.tenant):
        for n in range(8):
            raise_notification(
                tenant=TenantRef.of(connected.tenant), kind=Notification.Kind.UNMAPPED_GROUP, key=f"k{n}", title=f"Group {n}", body=""
            )
    with count_queries(include_search_path=False) as many:
        assert client_a.get(target, follow=True).status_code == 200
    assert many.count <= few.count, (url, few.count, many.count)


# --------------------------------------------------------------------------- overview


def test_the_overview_shows_health_against_the_idps_cadence_and_the_numbers(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    _populate(connected, 2, "ov")
    page = client_a.get("/portal/").content.decode()
    assert "Connection health" in page and "Healthy" in page
    assert "Okta sends changes as they happen" in page
    assert "Seats by role" in page and "Open notifications" in page
    assert "Finish setting up Okta" in page  # the wizard is not finished yet


def test_an_entra_connection_silent_for_several_cycles_is_overdue(client_a, tenant_a) -> None:  # type: ignore[no-untyped-def]
    connected = connect(client_a, tenant_a, idp="entra")
    ScimConnection.objects.filter(pk=connected.cid).update(last_request_at=timezone.now() - timedelta(hours=3))
    with tenant_schema(tenant_a):
        RequestLog.objects.update(received_at=timezone.now() - timedelta(hours=3))
    page = client_a.get("/portal/").content.decode()
    assert "Overdue" in page and "about every 40 minutes" in page


def test_a_connection_whose_requests_fail_is_failing(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    for _ in range(6):
        connected.idp.get("/Users/Users")  # a base URL with /Users appended: 404 each time
    page = client_a.get("/portal/").content.decode()
    assert "Failing" in page and "6 of 8 requests in the last 24 hours failed" in page


# --------------------------------------------------------------------------- connections


def test_connections_list_each_with_status_tokens_and_users(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    page = client_a.get("/portal/connections").content.decode()
    assert "Okta" in page and "1 working token" in page and connected.cid in page


def test_renaming_a_connection_and_a_blank_name_is_a_field_error(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    url = f"/portal/connections/{connected.cid}"
    assert client_a.post(url, {"action": "rename", "name": "Okta production"}).status_code == 302
    assert ScimConnection.objects.get(pk=connected.cid).name == "Okta production"
    bad = client_a.post(url, {"action": "rename", "name": "   "})
    assert bad.status_code == 400 and "Give the connection a name" in bad.content.decode()
    assert ScimConnection.objects.get(pk=connected.cid).name == "Okta production"


def test_rotating_keeps_the_old_token_for_the_overlap_and_shows_the_new_one_once(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    url = f"/portal/connections/{connected.cid}"
    page = client_a.post(url, {"action": "rotate", "overlap": "1h"}).content.decode()
    assert "Your new token" in page and "rcs_" in page
    tokens = list(ScimToken.objects.filter(connection_id=connected.cid).order_by("created_at"))
    assert len(tokens) == 2 and tokens[0].expires_at is not None and tokens[1].expires_at is None
    assert connected.idp.get("/Users?count=1").status == 200  # the old token still works in the overlap
    listing = client_a.get(url).content.decode()
    assert "2 working tokens" in listing and "rcs_" not in listing.split("Your new token")[0][-1:]
    bad = client_a.post(url, {"action": "rotate", "overlap": "forever"})
    assert bad.status_code == 400 and ScimToken.objects.filter(connection_id=connected.cid).count() == 2


def test_revoking_a_token_stops_it_at_once(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    token = ScimToken.objects.get(connection_id=connected.cid)
    response = client_a.post(f"/portal/connections/{connected.cid}", {"action": "revoke", "token": token.pk})
    assert response.status_code == 302
    assert connected.idp.get("/Users").status == 401


def test_a_token_of_another_connection_cannot_be_revoked_here(client_a, connected, tenant_a) -> None:  # type: ignore[no-untyped-def]
    other = connect(client_a, tenant_a, first_user="x.y@alpha.example")
    token = ScimToken.objects.get(connection_id=other.cid)
    response = client_a.post(f"/portal/connections/{connected.cid}", {"action": "revoke", "token": token.pk})
    assert response.status_code == 400 and ScimToken.objects.get(pk=token.pk).revoked_at is None


def test_disabling_answers_401_and_enabling_restores(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    url = f"/portal/connections/{connected.cid}"
    client_a.post(url, {"action": "disable"})
    assert connected.idp.get("/Users").status == 401
    assert "Disabled" in client_a.get("/portal/connections").content.decode()
    client_a.post(url, {"action": "enable"})
    assert connected.idp.get("/Users").status == 200


def test_deleting_shows_the_users_first_and_keeps_them_when_asked(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    url = f"/portal/connections/{connected.cid}/delete"
    page = client_a.get(url).content.decode()
    assert "What happens to its users?" in page and "Keep them as they are" in page and "Deactivate the 1 active user" in page
    unchosen = client_a.post(url, {"confirm_name": "Okta"})
    assert unchosen.status_code == 400 and "Choose what happens to the users" in unchosen.content.decode()
    wrong = client_a.post(url, {"users": "keep", "confirm_name": "Oktaa"})
    assert wrong.status_code == 400 and "Type the connection" in wrong.content.decode()
    assert ScimConnection.objects.filter(pk=connected.cid).exists()
    done = client_a.post(url, {"users": "keep", "confirm_name": "Okta"})
    assert done.status_code == 302 and not ScimConnection.objects.filter(pk=connected.cid).exists()
    with tenant_schema(connected.tenant):
        assert DirectoryUser.objects.filter(active=True).count() == 1  # never deleted silently


@pytest.mark.parametrize("suffix", ["", "/delete", "/mapping"])
def test_another_tenants_connection_is_404_and_unchanged(suffix, connected, admin_b) -> None:  # type: ignore[no-untyped-def]
    other = verified_client(admin_b.user, admin_b.device)
    url = f"/portal/connections/{connected.cid}{suffix}"
    assert other.get(url).status_code == 404
    assert other.post(url, {"action": "disable", "users": "keep", "confirm_name": "Okta"}).status_code == 404
    connection = ScimConnection.objects.get(pk=connected.cid)
    assert connection.is_active


# --------------------------------------------------------------------------- directory


def test_the_directory_lists_people_with_role_and_source_and_filters(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    ids = [connected.idp.post("/Users", user_body(f"p{i}.x@alpha.example")).body["id"] for i in range(3)]
    group = connected.idp.create_group("Staff", ids[:2]).body["id"]
    client_a.post("/portal/roles", {"action": "save", f"role.{group}": "editor"})
    connected.idp.patch_ops(f"/Users/{ids[2]}", {"op": "replace", "path": "active", "value": False})
    connected.drain()
    page = client_a.get("/portal/directory").content.decode()
    assert "4 people" in page and "From Staff" in page and "Deactivated" in page
    editors = client_a.get("/portal/directory", {"role": "editor"}).content.decode()
    assert "2 people match" in editors and "p0.x@alpha.example" in editors and "jane.doe" not in editors
    inactive = client_a.get("/portal/directory", {"status": "inactive"}).content.decode()
    assert "1 person matches" in inactive
    members = client_a.get("/portal/directory", {"group": group}).content.decode()
    assert "Member of Staff" in members and "2 people match" in members
    search = client_a.get("/portal/directory", {"q": "JANE"}).content.decode()
    assert "1 person matches" in search


def test_directory_pages_are_keyset_paged(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    for i in range(55):
        connected.idp.post("/Users", user_body(f"page{i:02d}.x@alpha.example"))
    first = client_a.get("/portal/directory").content.decode()
    assert "56 people" in first and 'rel="next"' in first and "page54.x" in first and "jane.doe" not in first
    cursor = first.split('href="?cursor=')[1].split('"')[0].replace("&amp;", "&")
    second = client_a.get(f"/portal/directory?cursor={cursor}").content.decode()
    assert "jane.doe" in second and "page54.x" not in second and 'rel="next"' not in second
    broken = client_a.get("/portal/directory?cursor=%%%not-base64")
    assert broken.status_code == 200  # a damaged cursor shows the first page


def test_the_user_page_shows_fields_resource_groups_and_role_source(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    with tenant_schema(connected.tenant):
        jane = DirectoryUser.objects.get(user_name="jane.doe@alpha.example")
    connected.idp.create_group("Staff", [str(jane.pk)])
    page = client_a.get(f"/portal/directory/users/{jane.pk}").content.decode()
    assert "Fields your app sees" in page and "Engineering" in page and "Last received SCIM resource" in page
    assert "Staff" in page and "No role" in page and "Lifecycle" in page


def test_a_role_set_by_hand_is_kept_and_can_be_cleared(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    with tenant_schema(connected.tenant):
        jane = DirectoryUser.objects.get(user_name="jane.doe@alpha.example")
    url = f"/portal/directory/users/{jane.pk}"
    assert client_a.post(url, {"role": "admin"}).status_code == 302
    with tenant_schema(connected.tenant):
        assert RoleGrant.objects.get(user=jane).source == "manual"
    assert "Set by hand" in client_a.get(url).content.decode()
    bad = client_a.post(url, {"role": "overlord"})
    assert bad.status_code == 400 and "Choose one of the roles" in bad.content.decode()
    client_a.post(url, {"role": ""})
    with tenant_schema(connected.tenant):
        assert not RoleGrant.objects.filter(user=jane).exists()


def test_another_tenants_user_is_404(client_a, connected, admin_b) -> None:  # type: ignore[no-untyped-def]
    with tenant_schema(connected.tenant):
        jane = DirectoryUser.objects.get(user_name="jane.doe@alpha.example")
    other = verified_client(admin_b.user, admin_b.device)
    assert other.get(f"/portal/directory/users/{jane.pk}").status_code == 404
    assert other.post(f"/portal/directory/users/{jane.pk}", {"role": "admin"}).status_code == 404
    assert client_a.get("/portal/directory/users/not-a-uuid").status_code == 404
    with tenant_schema(connected.tenant):
        assert not RoleGrant.objects.exists()


# --------------------------------------------------------------------------- activity


def test_activity_lists_requests_explained_with_quirks_and_events(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    connected.idp.post("/Users", user_body("str.bool@alpha.example", active="True"))
    page = client_a.get("/portal/activity").content.decode()
    assert "User created" in page and "user.created" in page and "String boolean" in page


def test_activity_filters_by_status_method_user_and_dates(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    connected.idp.get("/Users/not-there")
    refused = client_a.get("/portal/activity", {"status": "4xx"}).content.decode()
    assert "/Users/not-there" in refused and "POST</strong> /Users" not in refused
    posts = client_a.get("/portal/activity", {"method": "POST"}).content.decode()
    assert "POST</strong> /Users" in posts and "not-there" not in posts
    jane = client_a.get("/portal/activity", {"user": "jane.doe@alpha.example"}).content.decode()
    assert "Requests about" in jane and "POST</strong> /Users" in jane
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    empty = client_a.get("/portal/activity", {"since": tomorrow}).content.decode()
    assert "No request matches" in empty


@pytest.mark.parametrize(
    ("params", "message"),
    [({"since": "yesterday"}, "Use a date like"), ({"user": "nobody@else"}, "No user with that"), ({"since": "2026-12-02", "until": "2026-12-01"}, "The end must be after")],
)
def test_bad_activity_filters_are_field_errors(client_a, connected, params, message) -> None:  # type: ignore[no-untyped-def]
    response = client_a.get("/portal/activity", params)
    assert response.status_code == 400 and message in response.content.decode()


def test_a_request_shows_its_redacted_body_and_events(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    connected.idp.post("/Users", user_body("secret.sam@alpha.example", password="hunter2-very-secret"))
    with tenant_schema(connected.tenant):
        row = RequestLog.objects.filter(method="POST").order_by("-id").first()
    assert row is not None
    page = client_a.get(f"/portal/activity/requests/{row.pk}").content.decode()
    assert "[redacted]" in page and "hunter2-very-secret" not in page and "user.created" in page


def test_another_tenants_request_is_404(client_a, connected, admin_b) -> None:  # type: ignore[no-untyped-def]
    with tenant_schema(connected.tenant):
        row = RequestLog.objects.order_by("-id").first()
    assert row is not None
    assert verified_client(admin_b.user, admin_b.device).get(f"/portal/activity/requests/{row.pk}").status_code == 404


# --------------------------------------------------------------------------- notifications


def _notify(tenant, key: str, title: str) -> Notification:  # type: ignore[no-untyped-def]
    with tenant_schema(tenant):
        return raise_notification(tenant=TenantRef.of(tenant), kind=Notification.Kind.UNMAPPED_GROUP, key=key, title=title, body="b")


def test_notifications_are_listed_and_marked_read(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    first = _notify(connected.tenant, "a", "Group Sales arrived without a role")
    _notify(connected.tenant, "b", "Group Ops arrived without a role")
    page = client_a.get("/portal/notifications").content.decode()
    assert "Group Sales arrived" in page and "Unread (2)" in page
    client_a.post("/portal/notifications", {"action": "read", "notification": first.pk})
    assert "Unread (1)" in client_a.get("/portal/notifications").content.decode()
    client_a.post("/portal/notifications", {"action": "read_all"})
    with tenant_schema(connected.tenant):
        assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_email_preferences_decide_which_notifications_an_admin_gets(client_a, connected, admin_a, mailoutbox) -> None:  # type: ignore[no-untyped-def]
    client_a.post("/portal/notifications", {"action": "preferences", "email_error_rate_spike": "on"})
    prefs = TenantAdmin.objects.get(pk=admin_a.admin.pk).email_preferences
    assert prefs["unmapped_group"] is False and prefs["error_rate_spike"] is True
    _notify(connected.tenant, "c", "Group X arrived without a role")
    connected.drain()
    assert not any(admin_a.email in m.to for m in mailoutbox)
    with tenant_schema(connected.tenant):
        raise_notification(tenant=TenantRef.of(connected.tenant), kind=Notification.Kind.ERROR_RATE_SPIKE, key="spike", title="Errors", body="b")
    connected.drain()
    assert any(admin_a.email in m.to for m in mailoutbox)


def test_another_tenants_notification_cannot_be_marked_read(client_a, connected, admin_b, tenant_b) -> None:  # type: ignore[no-untyped-def]
    theirs = _notify(tenant_b, "b1", "Bravo's")
    client_a.post("/portal/notifications", {"action": "read", "notification": theirs.pk})
    with tenant_schema(tenant_b):
        assert Notification.objects.get(pk=theirs.pk).read_at is None


# --------------------------------------------------------------------------- jobs, audit log, timeline


def _run(location: str) -> str:
    from console.jobs import run_job

    job_id = location.split("job=")[1]
    run_job(job_id, budget_seconds=30)
    return job_id


def test_deleting_with_deactivate_offboards_every_user_in_the_background(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        connected.idp.post("/Users", user_body(f"d{i}.x@alpha.example"))
    response = client_a.post(f"/portal/connections/{connected.cid}/delete", {"users": "deactivate", "confirm_name": "Okta"})
    assert response.status_code == 302 and not ScimConnection.objects.filter(pk=connected.cid).exists()
    listing = client_a.get(response["Location"]).content.decode()
    assert '<progress class="progress"' in listing
    job_id = _run(response["Location"])
    connected.drain()
    with tenant_schema(connected.tenant):
        assert DirectoryUser.objects.count() == 4 and not DirectoryUser.objects.filter(active=True).exists()
        from directory.models import OffboardingRecord

        assert OffboardingRecord.objects.count() == 4
    done = client_a.get("/portal/connections", {"part": "job", "job": job_id}, headers={"HX-Request": "true"})
    assert done.status_code == 286 and "4 users deactivated" in done.content.decode()


def test_portal_changes_are_in_the_audit_log_with_who_and_from_where(client_a, connected, admin_a) -> None:  # type: ignore[no-untyped-def]
    client_a.post(f"/portal/connections/{connected.cid}", {"action": "rename", "name": "Okta production"})
    token = ScimToken.objects.get(connection_id=connected.cid)
    client_a.post(f"/portal/connections/{connected.cid}", {"action": "revoke", "token": token.pk})
    page = client_a.get("/portal/activity/audit").content.decode()
    assert "Renamed a connection" in page and "Okta → Okta production" in page
    assert "Revoked a token" in page and f"token {token.prefix}…" in page
    assert "Generated a token" in page and "Added a connection" in page
    assert admin_a.email in page and "127.0.0.1" in page


def test_the_audit_log_shows_only_this_tenants_changes(client_a, connected, admin_b, tenant_b) -> None:  # type: ignore[no-untyped-def]
    client_a.post(f"/portal/connections/{connected.cid}", {"action": "rename", "name": "Alpha's Okta"})
    page = verified_client(admin_b.user, admin_b.device).get("/portal/activity/audit").content.decode()
    assert "Alpha&#x27;s Okta" not in page and "Renamed a connection" not in page


@pytest.mark.parametrize(("export", "url", "expect"), [("requests", "/portal/activity", b"POST,/scim/v2/"), ("audit", "/portal/activity/audit", b"connection.created")])
def test_csv_exports_run_as_jobs_and_download(client_a, connected, export, url, expect, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.ROLLCALL_EXPORT_DIR = tmp_path
    response = client_a.post(url, {"export": export, "export_since": "", "export_until": ""})
    assert response.status_code == 302
    job_id = _run(response["Location"])
    page = client_a.get(response["Location"]).content.decode()
    assert "Export ready" in page and f"?download={job_id}" in page
    download = client_a.get(url, {"download": job_id})
    body = b"".join(download.streaming_content)  # type: ignore[attr-defined]
    assert download.status_code == 200 and expect in body
    assert connected.idp.token.encode() not in body  # no token in any export (display prefixes only)


def test_a_bad_export_range_is_a_field_error_and_starts_nothing(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    from tenants.models import Job

    response = client_a.post("/portal/activity", {"export": "requests", "export_since": "2026-12-05", "export_until": "2026-12-01"})
    assert response.status_code == 400 and "The end must be after the start." in response.content.decode()
    assert not Job.objects.exists()


def test_another_tenants_export_cannot_be_downloaded(client_a, connected, admin_b, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.ROLLCALL_EXPORT_DIR = tmp_path
    job_id = _run(client_a.post("/portal/activity", {"export": "requests"})["Location"])
    other = verified_client(admin_b.user, admin_b.device)
    assert other.get("/portal/activity", {"download": job_id}).status_code == 404


def test_the_user_page_shows_the_lifecycle_with_requests_events_and_offboarding(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    with tenant_schema(connected.tenant):
        jane = DirectoryUser.objects.get(user_name="jane.doe@alpha.example")
    connected.idp.patch_ops(f"/Users/{jane.pk}", {"op": "replace", "path": "active", "value": False})
    connected.drain()
    page = client_a.get(f"/portal/directory/users/{jane.pk}").content.decode()
    assert "POST /Users" in page and "user.created" in page and "user.deactivated" in page
    assert "Access removed in" in page and f"PATCH /Users/{str(jane.pk)[:8]}…" in page
