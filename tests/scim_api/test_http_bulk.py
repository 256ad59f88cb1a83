"""Bulk (RFC 7644 §3.7): bulkId references, ordering, failOnErrors, limits."""

from __future__ import annotations

import json

import pytest

from directory.models import DirectoryGroup, DirectoryUser

pytestmark = pytest.mark.django_db
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def test_bulk_creates_user_and_group_referencing_it(scim):
    body = {
        "schemas": [BULK],
        "Operations": [
            {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": {"displayName": "Bulk", "members": [{"value": "bulkId:u1", "type": "User"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "u1", "data": {"userName": "bulk@acme.test"}},
        ],
    }
    r = scim.post("/Bulk", body)
    assert r.status == 200
    assert r["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"]
    statuses = [op["status"] for op in r["Operations"]]
    assert statuses == ["201", "201"]
    user = DirectoryUser.objects.get()
    group = DirectoryGroup.objects.get()
    assert list(group.memberships.values_list("user_id", flat=True)) == [user.id]
    assert r["Operations"][1]["location"].endswith(f"/Users/{user.id}")


def test_bulk_continues_past_errors_and_reports_each(scim):
    body = {
        "schemas": [BULK],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "one@acme.test"}},
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "one@acme.test"}},
            {"method": "POST", "path": "/Users", "bulkId": "c", "data": {"userName": "two@acme.test"}},
        ],
    }
    r = scim.post("/Bulk", body)
    assert [op["status"] for op in r["Operations"]] == ["201", "409", "201"]
    assert r["Operations"][1]["response"]["scimType"] == "uniqueness"


def test_fail_on_errors_stops_processing(scim):
    body = {
        "schemas": [BULK],
        "failOnErrors": 1,
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"displayName": "no username"}},
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "never@acme.test"}},
        ],
    }
    r = scim.post("/Bulk", body)
    assert len(r["Operations"]) == 1
    assert DirectoryUser.objects.count() == 0


def test_bulk_patch_put_delete_with_version(scim):
    u = scim.create_user("v@acme.test")
    body = {
        "schemas": [BULK],
        "Operations": [
            {"method": "PATCH", "path": f"/Users/{u['id']}", "version": u["meta"]["version"],
             "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "title", "value": "T"}]}},
            {"method": "PUT", "path": f"/Users/{u['id']}", "version": u["meta"]["version"], "data": {"userName": "v@acme.test"}},
            {"method": "DELETE", "path": f"/Users/{u['id']}"},
        ],
    }
    r = scim.post("/Bulk", body)
    assert [op["status"] for op in r["Operations"]] == ["200", "412", "204"]


def test_circular_and_unknown_bulk_ids_fail_individually(scim):
    body = {
        "schemas": [BULK],
        "Operations": [
            {"method": "POST", "path": "/Groups", "bulkId": "x", "data": {"displayName": "X", "members": [{"value": "bulkId:y", "type": "Group"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "y", "data": {"displayName": "Y", "members": [{"value": "bulkId:x", "type": "Group"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "z", "data": {"displayName": "Z", "members": [{"value": "bulkId:nope"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "ok", "data": {"userName": "ok@acme.test"}},
        ],
    }
    r = scim.post("/Bulk", body)
    assert [op["status"] for op in r["Operations"]] == ["409", "409", "400", "201"]


def test_too_many_operations_is_413(scim, settings):
    settings.SCIM_BULK_MAX_OPERATIONS = 2
    ops = [{"method": "POST", "path": "/Users", "bulkId": str(i), "data": {"userName": f"{i}@x"}} for i in range(3)]
    r = scim.post("/Bulk", {"schemas": [BULK], "Operations": ops})
    assert r.status == 413
    assert "2" in r["detail"]
    assert DirectoryUser.objects.count() == 0


def test_too_large_payload_is_413(scim, settings):
    settings.SCIM_BULK_MAX_PAYLOAD = 200
    ops = [{"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "x" * 300}}]
    r = scim.request("POST", "/Bulk", raw=json.dumps({"schemas": [BULK], "Operations": ops}))
    assert r.status == 413
