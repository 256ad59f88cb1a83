"""Rippling (Custom App, "User Management via SCIM"), replayed over HTTP.

idp-quirks.md §1.7 (low confidence): the test connection reportedly probes
/ServiceProviderConfig; HR events drive create, update and termination (PATCH active=false or
DELETE); Rippling retries, so POST must be idempotent per userName: a re-sent create gets
409 uniqueness and Rippling then finds the user by filter. Bodies and the retry-then-lookup
order are [inferred]; the admin ticked groups, pagination, delete groups and PATCH groups.
"""

from __future__ import annotations

import pytest

from tests.idp.directory_state import directory_state, map_group_to_role, recompute_roles_as_handler
from tests.idp.replay import ABSENT, Step, Trace, client_for, replay
from tests.support.scim_client import ENTERPRISE, GROUP_SCHEMA, PATCH_OP, USER_SCHEMA

pytestmark = pytest.mark.django_db

USER = "riley.hire@example.io"
GROUP = "Rippling Sales"


def _patch(*ops: dict) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(ops)}


def _trace(*steps: Step) -> Trace:
    return Trace(idp="rippling", user_agent="Rippling", steps=steps)  # UA [inferred]


PROVISION = _trace(
    Step("test_connection_spc", "GET", "/ServiceProviderConfig",
         expect={"patch.supported": True, "filter.supported": True}),
    Step("hire_create_user", "POST", "/Users", status=(201, 409), retry_status=409, inferred=True,
         body={"schemas": [USER_SCHEMA, ENTERPRISE], "userName": USER, "externalId": "rip-1001",
               "name": {"givenName": "Riley", "familyName": "Hire"},
               "emails": [{"value": USER, "type": "work", "primary": True}], "active": True,
               ENTERPRISE: {"department": "Sales"}},
         capture={"user_id": "id"}, capture_optional=True,
         expect={"active": True, f"{ENTERPRISE}.department": "Sales", "externalId": "rip-1001"}),
    Step("lookup_after_conflict", "GET", '/Users?filter=externalId%20eq%20%22rip-1001%22', if_unbound="user_id",
         expect={"totalResults": 1, "Resources.0.userName": USER}, capture={"user_id": "Resources.0.id"},
         inferred=True),
    Step("role_change_update", "PATCH", "/Users/{user_id}", inferred=True,
         body=_patch({"op": "replace", "path": "title", "value": "Account Executive"},
                     {"op": "replace", "path": f"{ENTERPRISE}:department", "value": "Enterprise Sales"}),
         expect={"title": "Account Executive", f"{ENTERPRISE}.department": "Enterprise Sales"}, no_quirks=True),
    Step("group_create", "POST", "/Groups", status=(201, 409), retry_status=409, inferred=True,
         body={"schemas": [GROUP_SCHEMA], "displayName": GROUP}, capture={"group_id": "id"}, capture_optional=True),
    Step("group_lookup_after_conflict", "GET", '/Groups?filter=displayName%20eq%20%22Rippling%20Sales%22',
         if_unbound="group_id", expect={"totalResults": 1}, capture={"group_id": "Resources.0.id"}, inferred=True),
    Step("add_to_group", "PATCH", "/Groups/{group_id}", status=204, retry_status=204, inferred=True,
         body=_patch({"op": "add", "path": "members", "value": [{"value": "{user_id}"}]})),
    Step("group_has_member", "GET", "/Groups/{group_id}",
         expect={"members.0.value": "{user_id}", "members.1": ABSENT}),
)

DEPROVISION = _trace(
    Step("group_rename", "PATCH", "/Groups/{group_id}", status=204, inferred=True,
         body=_patch({"op": "replace", "path": "displayName", "value": "Rippling Enterprise Sales"})),
    Step("remove_from_group", "PATCH", "/Groups/{group_id}", status=204, retry_status=204, inferred=True,
         body=_patch({"op": "remove", "path": 'members[value eq "{user_id}"]'})),
    Step("terminate", "PATCH", "/Users/{user_id}", inferred=True,
         body=_patch({"op": "replace", "path": "active", "value": False}), expect={"active": False}),
    Step("rehire", "PATCH", "/Users/{user_id}", inferred=True,
         body=_patch({"op": "replace", "path": "active", "value": True}), expect={"active": True}),
    Step("delete_user", "DELETE", "/Users/{user_id}", status=204, retry_status=404, inferred=True),
    Step("delete_group", "DELETE", "/Groups/{group_id}", status=204, retry_status=404, inferred=True),
)

LIFECYCLE = PROVISION + DEPROVISION


@pytest.fixture
def rippling(tenant_a):  # type: ignore[no-untyped-def]
    return client_for(tenant_a, LIFECYCLE)


def test_rippling_lifecycle_replay(rippling, tenant_a):
    def map_role(run):  # type: ignore[no-untyped-def]
        map_group_to_role(run.variables["group_id"], "editor")

    def role(expected):  # type: ignore[no-untyped-def]
        def check(run):  # type: ignore[no-untyped-def]
            recompute_roles_as_handler(tenant_a, run.variables["user_id"])
            assert directory_state().grants == expected

        return check

    run = replay(rippling, LIFECYCLE, hooks={"group_create": map_role, "add_to_group": role({USER: "editor"}),
                                             "remove_from_group": role({})})
    assert run.skipped == ["lookup_after_conflict", "group_lookup_after_conflict"]
    state = directory_state()
    assert state.users == {} and state.groups == [] and state.memberships == set()


def test_rippling_replay_twice_hits_409_then_finds_by_filter(rippling):
    first = replay(rippling, PROVISION)
    second = replay(rippling, PROVISION)
    assert second["hire_create_user"].status == 409 and second["group_create"].status == 409
    assert second.variables == first.variables
    state = directory_state()
    assert list(state.users) == [USER] and state.groups == [GROUP] and state.memberships == {(GROUP, USER)}


def test_rippling_replay_with_timeout_retries_leaves_one_user_and_one_membership(rippling):
    run = replay(rippling, PROVISION, retry=True)
    assert list(directory_state().users) == [USER] and directory_state().memberships == {(GROUP, USER)}
    replay(rippling, DEPROVISION, variables=run.variables, retry=True)
    assert directory_state().users == {}
