"""Wizard step 5 and the workspace mapping page: fields, paths seen first, live preview, custom fields, save."""

from __future__ import annotations

import pytest

from directory.models import AttributeMapping, DirectoryUser
from scim.schema import ENTERPRISE_USER_URN
from tenants.context import tenant_schema
from tests.portal.flows import HTMX, connect, start, user_body
from tests.portal.support import password_only_client, verified_client
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db
ACME = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"


@pytest.fixture
def client_a(admin_a):  # type: ignore[no-untyped-def]
    return verified_client(admin_a.user, admin_a.device)


@pytest.fixture
def connected(client_a, tenant_a):  # type: ignore[no-untyped-def]
    return connect(client_a, tenant_a)


def test_the_table_lists_every_app_field_with_the_idps_default(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    page = client_a.get(connected.url("mapping")).content.decode()
    for label in ("Email", "Given name", "Family name", "Job title", "Department", "Employee number", "Manager", "Cost center", "Phone", "Locale"):
        assert f">{label}</label>" in page
    assert 'selected>phoneNumbers[type eq &quot;work&quot;].value · default</option>' in page  # Okta's own default
    assert page.count(">Required<") == 3  # email, given and family name


def test_paths_seen_in_this_connections_payloads_come_first(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    body = user_body("sam.lee@alpha.example", **{ACME: {"badgeNumber": "B-7"}})
    assert connected.idp.post("/Users", body).status == 201
    page = client_a.get(connected.url("mapping")).content.decode()
    seen = page.index('<optgroup label="Seen in Okta&#x27;s payloads">')
    core = page.index('<optgroup label="Core user schema">')
    assert seen < core
    seen_group = page[seen:core]
    assert "department (enterprise)" in seen_group
    # Another extension's attribute is seen, but Rollcall does not keep it: listed, not selectable.
    assert "disabled>badgeNumber (acme extension) · not kept" in seen_group
    assert "nickName" not in seen_group  # never sent: only in the schema group


def test_the_preview_maps_the_last_payloads_with_unsaved_choices_and_flags_empty_required_fields(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    title_path = f"{ENTERPRISE_USER_URN}:department"
    response = client_a.get(
        connected.url("mapping"), {"preview": "1", "part": "preview", "map.title": title_path, "map.email": ""}, **HTMX
    )
    body = response.content.decode()
    assert response.status_code == 200 and 'id="mapping-preview"' in body and "<html" not in body
    assert "jane.doe@alpha.example" in body
    assert "Required, empty" in body  # email mapped to nothing
    assert "Engineering" in body and "was" in body  # title now from the department
    assert 'id="example-title" hx-swap-oob="true"' in body  # the table's example cell follows
    with tenant_schema(connected.tenant):
        assert not AttributeMapping.objects.exists()  # a preview writes nothing


def test_string_booleans_in_a_payload_are_highlighted(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    assert connected.idp.post("/Users", user_body("str.bool@alpha.example", active="True")).status == 201
    page = client_a.get(connected.url("mapping")).content.decode()
    assert '<mark class="json-flag">&quot;True&quot;</mark>' in page and "String boolean" in page


def test_a_connection_that_sent_nothing_previews_a_sample_payload(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    other = start(client_a, "entra")
    page = client_a.get(f"/portal/connections/{other}/mapping").content.decode()
    assert "Nothing received yet" in page and "avery.example@yourcompany.example" in page


def test_adding_a_custom_field_is_an_unsaved_choice_until_saved(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    response = client_a.post(
        connected.url("mapping"),
        {"action": "add_field", "new_field_label": "Division", "new_field_path": f"{ENTERPRISE_USER_URN}:division"},
    )
    page = response.content.decode()
    assert response.status_code == 200 and 'name="map.custom.division"' in page and "Division added" in page
    with tenant_schema(connected.tenant):
        assert not AttributeMapping.objects.exists()


@pytest.mark.parametrize(
    ("label", "path", "message"),
    [
        ("", "title", "Name the field."),
        ("!!!", "title", "Use letters and digits"),
        ("Badge", "", "Choose the SCIM attribute that fills it."),
        ("Badge", f"{ACME}:badgeNumber", "does not keep this extension"),
    ],
)
def test_a_bad_custom_field_is_a_field_error(client_a, connected, label, path, message) -> None:  # type: ignore[no-untyped-def]
    response = client_a.post(connected.url("mapping"), {"action": "add_field", "new_field_label": label, "new_field_path": path})
    assert response.status_code == 400 and message in response.content.decode()


def test_an_unparseable_path_is_refused_and_nothing_is_saved(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    response = client_a.post(connected.url("mapping"), {"action": "save", "map.title": "name[[broken"})
    assert response.status_code == 400 and "is not a SCIM attribute path" in response.content.decode()
    assert connected.setup().mapped_at is None
    with tenant_schema(connected.tenant):
        assert not AttributeMapping.objects.exists()


def test_a_path_rollcall_does_not_keep_is_refused_on_save(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    response = client_a.post(connected.url("mapping"), {"action": "save", "map.title": f"{ACME}:jobCode"})
    assert response.status_code == 400 and "does not keep this extension" in response.content.decode()
    with tenant_schema(connected.tenant):
        assert not AttributeMapping.objects.exists()


def test_keeping_the_defaults_moves_on_to_roles_without_a_job(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    response = client_a.post(connected.url("mapping"), {"action": "save", "map.email": "emails"})
    assert response["Location"] == connected.url("roles")
    assert connected.setup().mapped_at is not None


def test_the_mapping_step_is_not_reachable_before_the_first_user(client_a) -> None:  # type: ignore[no-untyped-def]
    cid = start(client_a)
    assert client_a.get(f"/portal/connections/{cid}/setup/mapping")["Location"] == f"/portal/connections/{cid}/setup/instructions"
    assert client_a.post(f"/portal/connections/{cid}/setup/mapping", {"action": "save", "map.title": "nickName"}).status_code == 302


def test_mapping_pages_need_a_verified_admin_of_the_tenant(client_a, connected, admin_a, admin_b) -> None:  # type: ignore[no-untyped-def]
    for url in (connected.url("mapping"), f"/portal/connections/{connected.cid}/mapping"):
        assert password_only_client(admin_a.user).get(url)["Location"] == "/portal/login/verify"
        other = verified_client(admin_b.user, admin_b.device)
        assert other.get(url).status_code == 404
        assert other.post(url, {"action": "save", "map.title": "nickName"}).status_code == 404
    with tenant_schema(connected.tenant):
        assert not AttributeMapping.objects.exists()


def test_the_mapping_page_renders_in_the_same_number_of_queries_for_1_and_40_users(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    with count_queries(include_search_path=False) as few:
        assert client_a.get(connected.url("mapping")).status_code == 200
    for n in range(40):
        connected.idp.post("/Users", user_body(f"user{n}.x@alpha.example"))
    with count_queries(include_search_path=False) as many:
        assert client_a.get(connected.url("mapping")).status_code == 200
    assert many.count == few.count, (few.count, many.count)
    with tenant_schema(connected.tenant):
        assert DirectoryUser.objects.count() == 41


def _run_job(page_url: str) -> str:
    from console.jobs import run_job

    job_id = page_url.split("job=")[1]
    run_job(job_id, budget_seconds=30)
    return job_id


def test_saving_a_change_re_maps_existing_users_in_a_job_with_a_progress_bar(client_a, connected) -> None:  # type: ignore[no-untyped-def]
    for n in range(3):
        connected.idp.post("/Users", user_body(f"m{n}.x@alpha.example", title="Engineer"))
    department = f"{ENTERPRISE_USER_URN}:department"
    response = client_a.post(connected.url("mapping"), {"action": "save", "map.title": department})
    assert response.status_code == 302 and "?job=" in response["Location"]
    with tenant_schema(connected.tenant):
        assert AttributeMapping.objects.get(app_field="title").scim_path == department
        assert set(DirectoryUser.objects.values_list("title", flat=True)) <= {"Engineer", ""}  # not re-mapped yet
    queued = client_a.get(response["Location"]).content.decode()
    assert '<progress class="progress"' in queued and "re-mapping" in queued and 'hx-trigger="every 1s"' in queued
    job_id = _run_job(response["Location"])
    with tenant_schema(connected.tenant):
        assert set(DirectoryUser.objects.values_list("title", flat=True)) == {"Engineering"}
        from outbox.models import Event

        assert Event.objects.filter(type="user.updated", payload__cause="attribute_mapping").count() == 4
    poll = client_a.get(connected.url("mapping"), {"part": "job", "job": job_id}, headers={"HX-Request": "true"})
    assert poll.status_code == 286 and "Mapping saved: 4 users changed" in poll.content.decode()
    assert connected.setup().mapped_at is not None


def test_the_job_of_another_tenant_is_not_shown(client_a, connected, admin_b, tenant_b) -> None:  # type: ignore[no-untyped-def]
    response = client_a.post(connected.url("mapping"), {"action": "save", "map.title": "nickName"})
    job_id = response["Location"].split("job=")[1]
    other = connect(verified_client(admin_b.user, admin_b.device), tenant_b, first_user="bob@bravo.example")
    client_b = verified_client(admin_b.user, admin_b.device)
    assert client_b.get(other.url("mapping"), {"part": "job", "job": job_id}, headers={"HX-Request": "true"}).status_code == 404
    assert "re-mapping" not in client_b.get(f"{other.url('mapping')}?job={job_id}").content.decode()
