"""Groups over HTTP: create with members, membership PATCH shapes, nesting, replace, delete."""

from __future__ import annotations

import pytest

from directory.models import Membership
from outbox.models import Event
from tests.support.outbox import capture_outbox
from tests.support.scim_client import GROUP_SCHEMA

pytestmark = pytest.mark.django_db


def _users(scim, n, prefix="u"):
    return [scim.create_user(f"{prefix}{i}@acme.test", displayName=f"{prefix.upper()}{i}")["id"] for i in range(n)]


def test_create_group_with_members_renders_members(scim):
    ids = _users(scim, 2)
    r = scim.create_group("Engineering", ids, externalId="g-1")
    assert r.status == 201
    assert {m["value"] for m in r["members"]} == set(ids)
    assert all(m["type"] == "User" and m["$ref"].endswith(m["value"]) for m in r["members"])
    assert r.headers["Location"] == r["meta"]["location"]


def test_group_display_name_is_unique_case_insensitively(scim):
    assert scim.create_group("Sales").status == 201
    r = scim.create_group("sales")
    assert r.status == 409
    assert r["scimType"] == "uniqueness"


def test_group_with_unknown_member_is_invalid_value(scim):
    r = scim.create_group("Ghosts", ["00000000-0000-0000-0000-0000000000aa"])
    assert r.status == 400
    assert r["scimType"] == "invalidValue"


def test_excluded_members_skips_membership(scim):
    ids = _users(scim, 3)
    g = scim.create_group("Big", ids)
    r = scim.get(f"/Groups/{g['id']}?excludedAttributes=members")
    assert "members" not in r.body
    assert r["displayName"] == "Big"


def test_patch_add_members_is_204_and_idempotent(scim):
    ids = _users(scim, 2)
    g = scim.create_group("Ops")
    add = {"op": "add", "path": "members", "value": [{"value": i} for i in ids]}
    with capture_outbox(types=("group.member_added", "group.member_added")):
        r = scim.patch_ops(f"/Groups/{g['id']}", add)
    assert r.status == 204
    after_first = scim.get(f"/Groups/{g['id']}")
    with capture_outbox(expected=0):
        again = scim.patch_ops(f"/Groups/{g['id']}", add)
    assert again.status == 204
    after_second = scim.get(f"/Groups/{g['id']}")
    assert after_second["meta"]["lastModified"] == after_first["meta"]["lastModified"]
    assert len(after_second["members"]) == 2


def test_patch_with_attributes_returns_200_body(scim):
    g = scim.create_group("Body")
    r = scim.patch_ops(f"/Groups/{g['id']}?attributes=displayName", {"op": "replace", "path": "displayName", "value": "Body2"})
    assert r.status == 200
    assert r["displayName"] == "Body2"


def test_remove_member_by_value_filter(scim):
    ids = _users(scim, 3)
    g = scim.create_group("Filtered", ids)
    r = scim.patch_ops(f"/Groups/{g['id']}", {"op": "remove", "path": f'members[value eq "{ids[1]}"]'})
    assert r.status == 204
    remaining = {m["value"] for m in scim.get(f"/Groups/{g['id']}")["members"]}
    assert remaining == {ids[0], ids[2]}


def test_remove_members_with_value_list_removes_only_those(scim):
    ids = _users(scim, 3)
    g = scim.create_group("Listed", ids)
    r = scim.patch_ops(f"/Groups/{g['id']}", {"op": "Remove", "path": "members", "value": [{"value": ids[0]}]})
    assert r.status == 204
    assert {m["value"] for m in scim.get(f"/Groups/{g['id']}")["members"]} == {ids[1], ids[2]}


def test_remove_all_members_without_value(scim):
    ids = _users(scim, 2)
    g = scim.create_group("Cleared", ids)
    assert scim.patch_ops(f"/Groups/{g['id']}", {"op": "remove", "path": "members"}).status == 204
    assert "members" not in scim.get(f"/Groups/{g['id']}").body


def test_replace_members_computes_the_difference(scim):
    ids = _users(scim, 4)
    g = scim.create_group("Replaced", ids[:2])
    r = scim.patch_ops(f"/Groups/{g['id']}", {"op": "replace", "path": "members", "value": [{"value": ids[1]}, {"value": ids[2]}]})
    assert r.status == 204
    assert {m["value"] for m in scim.get(f"/Groups/{g['id']}")["members"]} == {ids[1], ids[2]}
    types = sorted(Event.objects.filter(type__startswith="group.member").values_list("type", flat=True))
    assert types.count("group.member_removed") == 1


def test_removing_an_absent_member_is_a_no_op_success(scim):
    ids = _users(scim, 1)
    g = scim.create_group("Quiet")
    r = scim.patch_ops(f"/Groups/{g['id']}", {"op": "remove", "path": f'members[value eq "{ids[0]}"]'})
    assert r.status == 204
    assert scim.get(f"/Groups/{g['id']}")["meta"]["version"] == g["meta"]["version"]


def test_rename_and_members_in_one_request(scim):
    ids = _users(scim, 1)
    g = scim.create_group("Old")
    r = scim.patch_ops(
        f"/Groups/{g['id']}",
        {"op": "replace", "value": {"id": g["id"], "displayName": "New"}},
        {"op": "add", "path": "members", "value": [{"value": ids[0], "display": "x"}]},
    )
    assert r.status == 204
    got = scim.get(f"/Groups/{g['id']}")
    assert got["displayName"] == "New"
    assert [m["value"] for m in got["members"]] == ids


def test_nested_group_cycles_are_refused(scim):
    a = scim.create_group("A")
    b = scim.post("/Groups", {"displayName": "B", "members": [{"value": a["id"], "type": "Group"}]})
    r = scim.patch_ops(f"/Groups/{a['id']}", {"op": "add", "path": "members", "value": [{"value": b["id"], "type": "Group"}]})
    assert r.status == 400
    assert r["scimType"] == "invalidValue"


def test_put_group_replaces_members(scim):
    ids = _users(scim, 3)
    g = scim.create_group("Put", ids[:2])
    r = scim.put(f"/Groups/{g['id']}", {"schemas": [GROUP_SCHEMA], "displayName": "Put", "members": [{"value": ids[2]}]})
    assert r.status == 200
    assert [m["value"] for m in r["members"]] == [ids[2]]


def test_put_group_with_same_name_is_not_a_conflict_with_itself(scim):
    g = scim.create_group("Self")
    r = scim.put(f"/Groups/{g['id']}", {"displayName": "Self", "members": []})
    assert r.status == 200


def test_delete_group_keeps_users(scim):
    ids = _users(scim, 2)
    g = scim.create_group("Gone", ids)
    assert scim.delete(f"/Groups/{g['id']}").status == 204
    assert scim.get(f"/Groups/{g['id']}").status == 404
    assert Membership.objects.count() == 0
    assert scim.get(f"/Users/{ids[0]}").status == 200


def test_deleting_a_user_removes_its_memberships(scim):
    ids = _users(scim, 2)
    g = scim.create_group("Shrinks", ids)
    scim.delete(f"/Users/{ids[0]}")
    assert [m["value"] for m in scim.get(f"/Groups/{g['id']}")["members"]] == [ids[1]]
