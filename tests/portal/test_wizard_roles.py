"""Wizard step 6 and the workspace Roles page: groups received, seat preview, typed confirmation,
custom roles and their order, the live group list."""

from __future__ import annotations

import time
import uuid

import pytest

from directory.models import GroupRoleMapping, Role, RoleGrant
from outbox.models import Event
from tenants.context import tenant_schema
from tenants.models import AuditEvent, Tenant
from tests.portal.flows import HTMX, connect, through_mapping, user_body
from tests.portal.support import password_only_client, verified_client
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_a(admin_a):  # type: ignore[no-untyped-def]
    return verified_client(admin_a.user, admin_a.device)


@pytest.fixture
def at_roles(client_a, tenant_a):  # type: ignore[no-untyped-def]
    connected = connect(client_a, tenant_a)
    through_mapping(client_a, connected)
    return connected


def _users(c, n: int, prefix: str) -> list[str]:  # type: ignore[no-untyped-def]
    ids = []
    for i in range(n):
        response = c.idp.post("/Users", user_body(f"{prefix}{i}.x@alpha.example"))
        assert response.status == 201
        ids.append(response.body["id"])
    return ids


def _group(c, name: str, members: list[str]) -> str:  # type: ignore[no-untyped-def]
    response = c.idp.create_group(name, members)
    assert response.status == 201, response.body
    return response.body["id"]


def test_the_groups_received_are_listed_with_member_counts_and_a_role_each(client_a, at_roles) -> None:  # type: ignore[no-untyped-def]
    engineering = _group(at_roles, "Engineering", _users(at_roles, 3, "eng"))
    _group(at_roles, "Sales", _users(at_roles, 1, "sales"))
    page = client_a.get(at_roles.url("roles")).content.decode()
    assert "Engineering" in page and "Sales" in page and "2 groups received so far" in page
    assert f'name="role.{engineering}"' in page
    assert f'<td class="num" id="group-{engineering}-members">3</td>' in page


def test_no_groups_yet_shows_a_waiting_state_that_polls(client_a, at_roles) -> None:  # type: ignore[no-untyped-def]
    page = client_a.get(at_roles.url("roles")).content.decode()
    assert "No groups yet" in page and 'hx-trigger="every 5s"' in page and "empty=1" in page


def test_the_seat_preview_counts_real_memberships_before_saving(client_a, at_roles) -> None:  # type: ignore[no-untyped-def]
    admins = _group(at_roles, "Admins", _users(at_roles, 2, "adm"))
    staff = _group(at_roles, "Staff", _users(at_roles, 3, "staff"))
    response = client_a.get(
        at_roles.url("roles"),
        {"preview": "1", "part": "preview", f"role.{admins}": "admin", f"role.{staff}": "editor", "default_role": "viewer"},
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200 and 'id="seat-preview"' in body and "<html" not in body
    # 2 admins, 3 editors billed; jane (in no group) gets the default role.
    assert "With these mappings: 2 admins and 3 editors billed, 1 viewer free; +5 billed seats compared with now." in body
    with tenant_schema(at_roles.tenant):
        assert not GroupRoleMapping.objects.exists()


def test_saving_maps_the_groups_and_the_pipeline_grants_the_roles(client_a, at_roles) -> None:  # type: ignore[no-untyped-def]
    staff = _group(at_roles, "Staff", _users(at_roles, 2, "staff"))
    response = client_a.post(at_roles.url("roles"), {"action": "save", f"role.{staff}": "editor", "default_role": "viewer"})
    assert response["Location"] == at_roles.url("verify")
    assert at_roles.setup().roles_mapped_at is not None
    assert Tenant.objects.get(pk=at_roles.tenant.pk).settings["default_role"] == "viewer"
    at_roles.drain()
    with tenant_schema(at_roles.tenant):
        grants = dict(RoleGrant.objects.values_list("user__user_name", "source"))
        assert grants["staff0.x@alpha.example"] == f"group:{staff}"
        assert grants["jane.doe@alpha.example"] == "default"
        assert Event.objects.filter(type="role.mapping_changed").count() == 2
    audited = AuditEvent.objects.filter(tenant_id=at_roles.tenant.pk, type="role_mapping.changed").get()
    assert (audited.actor_kind, audited.source_ip) == ("tenant_admin", "127.0.0.1")  # who, and from where


def test_taking_roles_from_many_people_needs_the_typed_number(client_a, at_roles) -> None:  # type: ignore[no-untyped-def]
    staff = _group(at_roles, "Staff", _users(at_roles, 3, "staff"))
    client_a.post(at_roles.url("roles"), {"action": "save", f"role.{staff}": "editor", "default_role": ""})
    at_roles.drain()
    settings_url = "/portal/roles"
    refused = client_a.post(settings_url, {"action": "save", f"role.{staff}": ""})
    body = refused.content.decode()
    assert refused.status_code == 400 and "3 people would lose their role" in body and "Type 3 to confirm" in body
    wrong = client_a.post(settings_url, {"action": "save", f"role.{staff}": "", "confirm": "30"})
    assert wrong.status_code == 400 and "not the number of people" in wrong.content.decode()
    with tenant_schema(at_roles.tenant):
        assert GroupRoleMapping.objects.filter(group_id=uuid.UUID(staff)).exists()
    done = client_a.post(settings_url, {"action": "save", f"role.{staff}": "", "confirm": "3"})
    assert done.status_code == 302
    with tenant_schema(at_roles.tenant):
        assert not GroupRoleMapping.objects.exists()


def test_manual_grants_are_never_taken_by_a_mapping(client_a, at_roles) -> None:  # type: ignore[no-untyped-def]
    [kept] = _users(at_roles, 1, "kept")
    staff = _group(at_roles, "Staff", [kept])
    client_a.post(f"/portal/directory/users/{kept}", {"role": "admin"})
    client_a.post(at_roles.url("roles"), {"action": "save", f"role.{staff}": "viewer"})
    at_roles.drain()
    with tenant_schema(at_roles.tenant):
        grant = RoleGrant.objects.select_related("role").get(user_id=uuid.UUID(kept))
        assert (grant.role.key, grant.source) == ("admin", "manual")


def test_an_unknown_role_or_group_changes_nothing(client_a, at_roles) -> None:  # type: ignore[no-untyped-def]
    staff = _group(at_roles, "Staff", [])
    response = client_a.post(at_roles.url("roles"), {"action": "save", f"role.{staff}": "overlord"})
    assert response.status_code == 400 and "unknown role" in response.content.decode()
    missing = client_a.post(at_roles.url("roles"), {"action": "save", "role.6f1c1cc8-0000-4000-8000-000000000000": "admin"})
    assert missing.status_code == 400
    assert at_roles.setup().roles_mapped_at is None
    with tenant_schema(at_roles.tenant):
        assert not GroupRoleMapping.objects.exists()


def test_a_custom_role_is_created_at_the_bottom_and_can_move_up(client_a, at_roles) -> None:  # type: ignore[no-untyped-def]
    created = client_a.post("/portal/roles", {"action": "create_role", "role_name": "Billing manager", "role_billable": "on"})
    assert created.status_code == 302
    with tenant_schema(at_roles.tenant):
        assert list(Role.objects.order_by("-precedence").values_list("key", flat=True)) == ["admin", "editor", "viewer", "billing_manager"]
        assert Role.objects.get(key="billing_manager").billable
    client_a.post("/portal/roles", {"action": "move_role", "move": "billing_manager:up"})
    with tenant_schema(at_roles.tenant):
        assert list(Role.objects.order_by("-precedence").values_list("key", flat=True)) == ["admin", "editor", "billing_manager", "viewer"]
    page = client_a.get("/portal/roles").content.decode()
    assert page.index("Billing manager") < page.index(">Viewer<")


@pytest.mark.parametrize(("name", "message"), [("", "Name the role"), ("Admin", "already exists"), ("9", "at least two")])
def test_a_bad_role_name_is_a_field_error(client_a, at_roles, name, message) -> None:  # type: ignore[no-untyped-def]
    response = client_a.post("/portal/roles", {"action": "create_role", "role_name": name})
    assert response.status_code == 400 and message in response.content.decode()
    with tenant_schema(at_roles.tenant):
        assert Role.objects.count() == 3


def test_the_live_list_appends_new_groups_and_updates_counts(client_a, at_roles) -> None:  # type: ignore[no-untyped-def]
    old = _group(at_roles, "Old", [])
    time.sleep(1.1)
    rendered = int(time.time())  # the page was rendered after "Old" existed (whole seconds)
    time.sleep(1.1)
    new = _group(at_roles, "New", _users(at_roles, 2, "new"))
    at_roles.idp.patch_ops(f"/Groups/{old}", {"op": "add", "path": "members", "value": [{"value": _users(at_roles, 1, "late")[0]}]})
    poll = client_a.get(at_roles.url("roles"), {"part": "groups", "since": rendered, "started": rendered, "rendered": rendered}, **HTMX)
    body = poll.content.decode()
    assert poll.status_code == 200
    assert 'hx-swap-oob="beforeend:#groups-body"' in body and f'id="group-{new}"' in body
    assert f'id="group-{old}-members" hx-swap-oob="true">1<' in body
    paused = client_a.get(at_roles.url("roles"), {"part": "groups", "since": rendered, "started": int(time.time()) - 16 * 60}, **HTMX)
    assert paused.status_code == 286


def test_role_pages_need_a_verified_admin(client_a, at_roles, admin_a, admin_b) -> None:  # type: ignore[no-untyped-def]
    assert password_only_client(admin_a.user).get("/portal/roles")["Location"] == "/portal/login/verify"
    other = verified_client(admin_b.user, admin_b.device)
    assert other.get(at_roles.url("roles")).status_code == 404
    staff = _group(at_roles, "Staff", [])
    # Tenant B's admin posting A's group id changes nothing in A (it is an unknown group in B).
    assert other.post("/portal/roles", {"action": "save", f"role.{staff}": "admin"}).status_code == 400
    with tenant_schema(at_roles.tenant):
        assert not GroupRoleMapping.objects.exists()


def test_the_roles_page_renders_in_the_same_number_of_queries_for_2_and_30_groups(client_a, at_roles) -> None:  # type: ignore[no-untyped-def]
    for n in range(2):
        _group(at_roles, f"G{n}", [])
    with count_queries(include_search_path=False) as few:
        assert client_a.get("/portal/roles").status_code == 200
    for n in range(2, 30):
        _group(at_roles, f"G{n}", [])
    with count_queries(include_search_path=False) as many:
        assert client_a.get("/portal/roles").status_code == 200
    assert many.count == few.count, (few.count, many.count)


def test_mapping_a_group_settles_its_unmapped_group_notification(client_a, at_roles) -> None:  # type: ignore[no-untyped-def]
    from provisioning.models import Notification

    staff = _group(at_roles, "Staff", [])
    at_roles.drain()
    with tenant_schema(at_roles.tenant):
        notice = Notification.objects.get(dedupe_key=f"unmapped_group:{staff}")
        assert notice.read_at is None
    client_a.post("/portal/roles", {"action": "save", f"role.{staff}": "viewer"})
    at_roles.drain()
    with tenant_schema(at_roles.tenant):
        assert Notification.objects.get(pk=notice.pk).read_at is not None
