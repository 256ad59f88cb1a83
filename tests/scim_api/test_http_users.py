"""Users over HTTP: create, read, replace, patch, delete, uniqueness, ETags, projection."""

from __future__ import annotations

import pytest

from directory.models import DirectoryUser, UserValue
from outbox.models import Event
from scim.quirks import Quirk
from scim_api.models import RequestLog
from tests.support.outbox import capture_outbox
from tests.support.scim_client import ENTERPRISE, USER_SCHEMA

pytestmark = pytest.mark.django_db


def test_create_user_returns_201_with_location_etag_and_meta(scim):
    r = scim.create_user(
        "ada@acme.test",
        name={"givenName": "Ada", "familyName": "Lovelace"},
        emails=[{"value": "ada@acme.test", "type": "work", "primary": True}],
        externalId="00u1",
    )
    assert r.status == 201
    assert r.headers["Content-Type"] == "application/scim+json"
    assert r["userName"] == "ada@acme.test"
    assert r["meta"]["resourceType"] == "User"
    assert r["meta"]["created"] == r["meta"]["lastModified"]
    assert r.headers["Location"] == r["meta"]["location"]
    assert r.headers["ETag"] == r["meta"]["version"]
    assert r["meta"]["location"].endswith(f"/Users/{r['id']}")
    assert r["schemas"] == [USER_SCHEMA]
    assert r.body["active"] is True


def test_created_user_is_readable_and_password_is_never_returned(scim):
    created = scim.create_user("bob@acme.test", password="s3cret-Passw0rd")
    assert "password" not in created.body
    got = scim.get(f"/Users/{created['id']}")
    assert got.status == 200
    assert "password" not in got.body
    assert got["id"] == created["id"]
    assert "s3cret" not in str(DirectoryUser.objects.get().resource)


def test_username_uniqueness_is_case_insensitive_409(scim):
    assert scim.create_user("Carol@Acme.test").status == 201
    with capture_outbox(expected=0):  # the rolled-back create left no event
        dup = scim.create_user("carol@acme.TEST")
    assert dup.status == 409
    assert dup["scimType"] == "uniqueness"
    assert dup["status"] == "409"
    assert dup["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_missing_username_is_invalid_value(scim):
    r = scim.post("/Users", {"schemas": [USER_SCHEMA], "displayName": "Nobody"})
    assert r.status == 400
    assert r["scimType"] == "invalidValue"


def test_malformed_json_is_invalid_syntax(scim):
    r = scim.request("POST", "/Users", raw='{"userName": ')
    assert r.status == 400
    assert r["scimType"] == "invalidSyntax"


def test_plain_application_json_is_accepted(scim):
    r = scim.request(
        "POST", "/Users", raw='{"userName": "json@acme.test"}', content_type="application/json"
    )
    assert r.status == 201


def test_unknown_user_is_404_scim_error(scim):
    r = scim.get("/Users/00000000-0000-0000-0000-000000000000")
    assert r.status == 404
    assert r["status"] == "404"
    assert scim.get("/Users/not-a-uuid").status == 404


def test_put_replaces_and_clears_omitted_attributes(scim):
    created = scim.create_user("dan@acme.test", title="Engineer", nickName="D")
    r = scim.put(f"/Users/{created['id']}", {"schemas": [USER_SCHEMA], "userName": "dan@acme.test", "title": "Lead"})
    assert r.status == 200
    assert r["title"] == "Lead"
    assert "nickName" not in r.body
    assert r["meta"]["version"] != created["meta"]["version"]


def test_put_unknown_id_is_404(scim):
    r = scim.put("/Users/00000000-0000-0000-0000-000000000001", {"schemas": [USER_SCHEMA], "userName": "x"})
    assert r.status == 404


def test_put_with_mismatching_body_id_is_rejected(scim):
    created = scim.create_user("erin@acme.test")
    r = scim.put(f"/Users/{created['id']}", {"id": "other", "userName": "erin@acme.test"})
    assert r.status == 400


def test_put_ignores_read_only_meta_and_groups(scim):
    created = scim.create_user("fay@acme.test")
    r = scim.put(
        f"/Users/{created['id']}",
        {"userName": "fay@acme.test", "meta": {"created": "2001-01-01T00:00:00Z"}, "groups": [{"value": "x"}]},
    )
    assert r.status == 200
    assert r["meta"]["created"] == created["meta"]["created"]


def test_patch_replace_returns_200_with_the_user(scim):
    created = scim.create_user("gus@acme.test")
    r = scim.patch_ops(f"/Users/{created['id']}", {"op": "replace", "path": "displayName", "value": "Gus"})
    assert r.status == 200
    assert r["displayName"] == "Gus"


def test_patch_is_atomic_when_a_later_operation_fails(scim):
    created = scim.create_user("hal@acme.test")
    r = scim.patch_ops(
        f"/Users/{created['id']}",
        {"op": "replace", "path": "displayName", "value": "Hal"},
        {"op": "replace", "path": "noSuchAttribute", "value": "x"},
    )
    assert r.status == 400
    assert r["scimType"] == "invalidPath"
    assert "displayName" not in scim.get(f"/Users/{created['id']}").body


def test_patch_read_only_attribute_is_mutability_error(scim):
    created = scim.create_user("ivy@acme.test")
    r = scim.patch_ops(f"/Users/{created['id']}", {"op": "replace", "path": "meta.created", "value": "2001-01-01T00:00:00Z"})
    assert r.status == 400
    assert r["scimType"] == "mutability"


def test_patch_remove_without_path_is_no_target(scim):
    created = scim.create_user("jo@acme.test")
    r = scim.patch_ops(f"/Users/{created['id']}", {"op": "remove"})
    assert r.status == 400
    assert r["scimType"] == "noTarget"


def test_patch_wrong_value_type_is_invalid_value(scim):
    created = scim.create_user("kim@acme.test")
    r = scim.patch_ops(f"/Users/{created['id']}", {"op": "replace", "path": "active", "value": {"no": 1}})
    assert r.status == 400
    assert r["scimType"] == "invalidValue"


def test_patch_enterprise_extension_by_urn_path(scim):
    created = scim.create_user("lee@acme.test")
    r = scim.patch_ops(
        f"/Users/{created['id']}",
        {"op": "add", "path": f"{ENTERPRISE}:department", "value": "R&D"},
        {"op": "add", "path": f"{ENTERPRISE}:employeeNumber", "value": "42"},
    )
    assert r.status == 200
    assert r[ENTERPRISE] == {"department": "R&D", "employeeNumber": "42"}
    assert ENTERPRISE in r["schemas"]
    user = DirectoryUser.objects.get(pk=created["id"])
    assert (user.department, user.employee_number) == ("R&D", "42")


@pytest.mark.parametrize("op", ["add", "replace"])
def test_patch_enterprise_extension_object_with_its_own_schemas_key(scim, op):
    """scim2-models clients send the extension object carrying its schemas list; it is ignored there."""
    manager = scim.create_user("boss@acme.test")
    created = scim.create_user("lee@acme.test")
    value = {"schemas": [ENTERPRISE], "employeeNumber": "42", "manager": {"value": manager["id"]}}
    r = scim.patch_ops(f"/Users/{created['id']}", {"op": op, "path": ENTERPRISE, "value": value})
    assert r.status == 200, r.body
    assert r[ENTERPRISE]["employeeNumber"] == "42"
    assert r[ENTERPRISE]["manager"]["value"] == manager["id"]
    assert "schemas" not in r[ENTERPRISE]
    user = DirectoryUser.objects.get(pk=created["id"])
    assert (user.employee_number, str(user.manager_id)) == ("42", manager["id"])
    last = RequestLog.objects.order_by("-id").first()
    assert last is not None and last.quirks == [Quirk.EXTENSION_SCHEMAS_KEY.value]


def test_idempotent_patch_keeps_version_and_last_modified(scim):
    created = scim.create_user("max@acme.test", displayName="Max")
    with capture_outbox(expected=0):
        r = scim.patch_ops(f"/Users/{created['id']}", {"op": "replace", "path": "displayName", "value": "Max"})
    assert r["meta"]["version"] == created["meta"]["version"]
    assert r["meta"]["lastModified"] == created["meta"]["lastModified"]


def test_deactivate_emits_event_and_user_stays_readable_and_filterable(scim):
    created = scim.create_user("ned@acme.test")
    with capture_outbox(types=("user.deactivated",)):
        r = scim.patch_ops(f"/Users/{created['id']}", {"op": "replace", "value": {"active": False}})
    assert r.status == 200
    assert r["active"] is False
    assert scim.get(f"/Users/{created['id']}")["active"] is False
    listed = scim.get('/Users?filter=userName eq "ned@acme.test"')
    assert listed["totalResults"] == 1


def test_delete_returns_204_and_then_404(scim):
    created = scim.create_user("oz@acme.test", emails=[{"value": "oz@acme.test"}])
    with capture_outbox(types=("user.deleted",)):
        assert scim.delete(f"/Users/{created['id']}").status == 204
    assert scim.get(f"/Users/{created['id']}").status == 404
    assert scim.delete(f"/Users/{created['id']}").status == 404
    assert UserValue.objects.count() == 0


def test_if_match_mismatch_is_412_and_changes_nothing(scim):
    created = scim.create_user("pam@acme.test")
    r = scim.patch_ops(
        f"/Users/{created['id']}",
        {"op": "replace", "path": "displayName", "value": "Pam"},
        headers={"If-Match": 'W/"999"'},
    )
    assert r.status == 412
    assert "displayName" not in scim.get(f"/Users/{created['id']}").body
    ok = scim.patch_ops(
        f"/Users/{created['id']}",
        {"op": "replace", "path": "displayName", "value": "Pam"},
        headers={"If-Match": created["meta"]["version"]},
    )
    assert ok.status == 200


def test_if_match_on_delete_and_put(scim):
    created = scim.create_user("quin@acme.test")
    assert scim.delete(f"/Users/{created['id']}", headers={"If-Match": 'W/"5"'}).status == 412
    assert scim.put(f"/Users/{created['id']}", {"userName": "quin@acme.test"}, headers={"If-Match": 'W/"5"'}).status == 412
    assert scim.delete(f"/Users/{created['id']}", headers={"If-Match": "*"}).status == 204


def test_if_none_match_returns_304_when_unchanged(scim):
    created = scim.create_user("ray@acme.test")
    r = scim.get(f"/Users/{created['id']}", headers={"If-None-Match": created["meta"]["version"]})
    assert r.status == 304
    assert scim.get(f"/Users/{created['id']}", headers={"If-None-Match": 'W/"0"'}).status == 200


def test_attributes_and_excluded_attributes_on_get_and_post(scim):
    created = scim.create_user("sam@acme.test", name={"givenName": "Sam", "familyName": "Stone"}, title="CTO")
    only = scim.get(f"/Users/{created['id']}?attributes=userName,name.givenName")
    assert set(only.body) <= {"schemas", "id", "userName", "name", "meta"}
    assert only["name"] == {"givenName": "Sam"}
    assert "title" not in only.body
    without = scim.get(f"/Users/{created['id']}?excludedAttributes=title,name")
    assert "title" not in without.body and "name" not in without.body
    assert without["id"] == created["id"]
    posted = scim.post("/Users?attributes=userName", {"userName": "tia@acme.test", "title": "x"})
    assert posted.status == 201
    assert "title" not in posted.body


def test_user_groups_attribute_lists_direct_and_nested_groups(scim):
    user = scim.create_user("uma@acme.test")
    inner = scim.create_group("Inner", [user["id"]])
    outer = scim.post("/Groups", {"displayName": "Outer", "members": [{"value": inner["id"], "type": "Group"}]})
    got = scim.get(f"/Users/{user['id']}")
    groups = {g["display"]: g["type"] for g in got["groups"]}
    assert groups == {"Inner": "direct", "Outer": "indirect"}
    assert outer.status == 201


def test_me_is_501(scim):
    r = scim.get("/Me")
    assert r.status == 501
    assert r["status"] == "501"


def test_unknown_endpoint_is_scim_404(scim):
    r = scim.get("/Widgets")
    assert r.status == 404
    assert r["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_method_not_allowed_is_405_with_allow(scim):
    r = scim.request("DELETE", "/Users")
    assert r.status == 405
    assert "GET" in r.headers["Allow"]


@pytest.mark.parametrize("one_statement", [True, False], ids=["one-statement", "collector-fallback"])
def test_delete_removes_memberships_and_values_and_names_the_groups_in_the_event(scim, monkeypatch, one_statement):
    from directory import users
    from directory.models import Membership

    if not one_statement:  # what a relation that is not a plain cascade (e.g. SET_NULL) falls back to
        monkeypatch.setattr(users, "_delete_user_sql", lambda: None)
    created = scim.create_user("del@acme.test", emails=[{"value": "del@acme.test"}])
    group = scim.create_group("Leavers", [created["id"]])
    assert scim.delete(f"/Users/{created['id']}").status == 204
    assert not Membership.objects.filter(group_id=group["id"]).exists()
    assert not UserValue.objects.exists() and not DirectoryUser.objects.exists()
    event = Event.objects.order_by("-seq")[0]
    assert event.type == "user.deleted" and event.payload["groups"] == [group["id"]]
