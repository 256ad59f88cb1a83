"""A strict RFC 7643/7644 client (no IdP quirks at all), replayed over HTTP.

Every request is what the RFCs spell out (lowercase ops, paths, JSON booleans, typed members,
RFC filter removal), so the request log must record no quirk for any of them. It does not look
up before it creates: a second run gets 409 uniqueness and then finds the resource by filter.
"""

from __future__ import annotations

import pytest

from tests.idp.directory_state import directory_state, map_group_to_role, recompute_roles_as_handler
from tests.idp.replay import ABSENT, Step, Trace, client_for, replay
from tests.support.scim_client import ENTERPRISE, GROUP_SCHEMA, PATCH_OP, USER_SCHEMA

pytestmark = pytest.mark.django_db

USER = "bjensen@example.com"
GROUP = "Tour Guides"


def _patch(*ops: dict) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(ops)}


def _user(title: str, active: bool = True) -> dict:
    return {"schemas": [USER_SCHEMA, ENTERPRISE], "userName": USER, "externalId": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"}, "title": title,
            "emails": [{"value": USER, "type": "work", "primary": True}], "active": active,
            ENTERPRISE: {"employeeNumber": "701984"}}


def _trace(*steps: Step) -> Trace:
    return Trace(idp="generic", user_agent="rfc7644-strict-client/1.0", content_type="application/scim+json",
                 steps=tuple(Step(**{**s.__dict__, "no_quirks": True}) for s in steps))


PROVISION = _trace(
    Step("service_provider_config", "GET", "/ServiceProviderConfig", expect={"patch.supported": True}),
    Step("create_user", "POST", "/Users", status=(201, 409), retry_status=409, body=_user("Tour Guide"),
         capture={"user_id": "id"}, capture_optional=True,
         expect={"userName": USER, "active": True, f"{ENTERPRISE}.employeeNumber": "701984",
                 "schemas": [USER_SCHEMA, ENTERPRISE], "meta.resourceType": "User"}),
    Step("find_after_conflict", "GET", '/Users?filter=userName%20eq%20%22bjensen%40example.com%22',
         if_unbound="user_id", expect={"totalResults": 1}, capture={"user_id": "Resources.0.id"}),
    Step("get_user", "GET", "/Users/{user_id}", expect={"id": "{user_id}", "userName": USER}),
    Step("replace_user", "PUT", "/Users/{user_id}", body=_user("Senior Tour Guide"),
         expect={"title": "Senior Tour Guide", "active": True}),
    Step("patch_user", "PATCH", "/Users/{user_id}",
         body=_patch({"op": "replace", "path": "displayName", "value": "Babs Jensen"},
                     {"op": "add", "path": "phoneNumbers", "value": [{"value": "555-555-8377", "type": "work"}]}),
         expect={"displayName": "Babs Jensen", "phoneNumbers": [{"value": "555-555-8377", "type": "work"}]}),
    Step("create_group", "POST", "/Groups", status=(201, 409), retry_status=409, capture={"group_id": "id"},
         capture_optional=True, body={"schemas": [GROUP_SCHEMA], "displayName": GROUP},
         expect={"displayName": GROUP, "members": ABSENT}),
    Step("find_group_after_conflict", "GET", '/Groups?filter=displayName%20eq%20%22Tour%20Guides%22',
         if_unbound="group_id", expect={"totalResults": 1}, capture={"group_id": "Resources.0.id"}),
    Step("add_member", "PATCH", "/Groups/{group_id}", status=204, retry_status=204,
         body=_patch({"op": "add", "path": "members", "value": [{"value": "{user_id}", "type": "User"}]})),
    Step("group_has_member", "GET", "/Groups/{group_id}",
         expect={"members": [{"value": "{user_id}", "type": "User", "display": "Babs Jensen",
                              "$ref": "http://testserver/scim/v2/{connection_id}/Users/{user_id}"}]}),
    Step("user_lists_group", "GET", "/Users/{user_id}",
         expect={"groups.0.value": "{group_id}", "groups.0.type": "direct", "groups.1": ABSENT}),
)

DEPROVISION = _trace(
    Step("rename_group", "PATCH", "/Groups/{group_id}", status=204,
         body=_patch({"op": "replace", "path": "displayName", "value": "Senior Tour Guides"})),
    Step("remove_member", "PATCH", "/Groups/{group_id}", status=204, retry_status=204,
         body=_patch({"op": "remove", "path": 'members[value eq "{user_id}"]'})),
    Step("group_without_member", "GET", "/Groups/{group_id}",
         expect={"displayName": "Senior Tour Guides", "members": ABSENT}),
    Step("deactivate", "PATCH", "/Users/{user_id}", body=_patch({"op": "replace", "path": "active", "value": False}),
         expect={"active": False}),
    Step("deactivated_user_is_listed", "GET", '/Users?filter=active%20eq%20false',
         expect={"totalResults": 1, "Resources.0.id": "{user_id}"}),
    Step("reactivate", "PATCH", "/Users/{user_id}", body=_patch({"op": "replace", "path": "active", "value": True}),
         expect={"active": True}),
    Step("delete_user", "DELETE", "/Users/{user_id}", status=204, retry_status=404),
    Step("deleted_user_is_gone", "GET", "/Users/{user_id}", status=404, expect={"status": "404"}),
    Step("delete_group", "DELETE", "/Groups/{group_id}", status=204, retry_status=404),
    Step("deleted_group_is_gone", "GET", "/Groups/{group_id}", status=404),
)

LIFECYCLE = PROVISION + DEPROVISION


@pytest.fixture
def rfc(tenant_a):  # type: ignore[no-untyped-def]
    return client_for(tenant_a, LIFECYCLE)


def test_generic_rfc_lifecycle_replay_records_no_quirks(rfc, tenant_a):
    def map_role(run):  # type: ignore[no-untyped-def]
        map_group_to_role(run.variables["group_id"], "admin")

    def role(expected):  # type: ignore[no-untyped-def]
        def check(run):  # type: ignore[no-untyped-def]
            recompute_roles_as_handler(tenant_a, run.variables["user_id"])
            assert directory_state().grants == expected

        return check

    replay(rfc, LIFECYCLE, variables={"connection_id": rfc.connection_id},
           hooks={"create_group": map_role, "add_member": role({USER: "admin"}), "remove_member": role({})})
    state = directory_state()
    assert state.users == {} and state.groups == [] and state.memberships == set() and state.grants == {}


def test_generic_rfc_replay_twice_hits_409_then_finds_by_filter(rfc):
    first = replay(rfc, PROVISION, variables={"connection_id": rfc.connection_id})
    second = replay(rfc, PROVISION, variables={"connection_id": rfc.connection_id})
    assert second["create_user"].status == 409 and second["create_group"].status == 409
    assert second.variables == first.variables
    state = directory_state()
    assert list(state.users) == [USER] and state.groups == [GROUP] and state.memberships == {(GROUP, USER)}


def test_generic_rfc_replay_with_timeout_retries_leaves_one_user_and_one_membership(rfc):
    run = replay(rfc, PROVISION, variables={"connection_id": rfc.connection_id}, retry=True)
    assert list(directory_state().users) == [USER] and directory_state().memberships == {(GROUP, USER)}
    replay(rfc, DEPROVISION, variables=run.variables, retry=True)
    assert directory_state().users == {} and directory_state().groups == []


def test_generic_rfc_other_tenant_sees_nothing(rfc, scim_b):
    replay(rfc, PROVISION, variables={"connection_id": rfc.connection_id})
    r = scim_b.get('/Users?filter=userName%20eq%20%22bjensen%40example.com%22')
    assert r.status == 200 and r["totalResults"] == 0
    assert scim_b.get("/Groups")["totalResults"] == 0
