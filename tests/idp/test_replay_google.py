"""Google Workspace (auto-provisioning on a SAML app), replayed over HTTP.

idp-quirks.md §1.5 has no recorded trace: only the `GET /Users?count=1` probe is reported (low
confidence). Everything else here is [inferred] as "expect anything core-schema": lookup by
userName before create, PATCH with RFC paths, suspend as active=false, delete on user deletion.
"""

from __future__ import annotations

import pytest

from tests.idp.directory_state import directory_state, map_group_to_role, recompute_roles_as_handler
from tests.idp.replay import ABSENT, Step, Trace, client_for, one_of, replay
from tests.support.scim_client import GROUP_SCHEMA, PATCH_OP, USER_SCHEMA

pytestmark = pytest.mark.django_db

USER = "ana.lima@example.org"
GROUP = "eng@example.org"


def _patch(*ops: dict) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(ops)}


def _trace(*steps: Step) -> Trace:
    return Trace(idp="google", user_agent="Google-Auto-Provisioning", steps=steps)  # UA [inferred]


PROVISION = _trace(
    Step("probe", "GET", "/Users?count=1", expect={"startIndex": 1}, no_quirks=True),
    Step("lookup_before_create", "GET", '/Users?filter=userName%20eq%20%22ana.lima%40example.org%22',
         expect={"totalResults": one_of(0, 1)}, capture={"user_id": "Resources.0.id"}, capture_optional=True,
         inferred=True),
    Step("create_user", "POST", "/Users", if_unbound="user_id", status=201, retry_status=409, inferred=True,
         body={"schemas": [USER_SCHEMA], "userName": USER, "name": {"givenName": "Ana", "familyName": "Lima"},
               "emails": [{"value": USER, "type": "work", "primary": True}], "active": True},
         capture={"user_id": "id"}, expect={"active": True, "name.givenName": "Ana"}),
    Step("update_name", "PATCH", "/Users/{user_id}", inferred=True,
         body=_patch({"op": "replace", "path": "name.familyName", "value": "Lima Souza"}),
         expect={"name.familyName": "Lima Souza"}, no_quirks=True),
    Step("group_lookup", "GET", '/Groups?filter=displayName%20eq%20%22eng%40example.org%22',
         capture={"group_id": "Resources.0.id"}, capture_optional=True, inferred=True),
    Step("group_create", "POST", "/Groups", if_unbound="group_id", status=201, retry_status=409, inferred=True,
         body={"schemas": [GROUP_SCHEMA], "displayName": GROUP}, capture={"group_id": "id"}),
    Step("add_to_group", "PATCH", "/Groups/{group_id}", status=204, retry_status=204, inferred=True,
         body=_patch({"op": "add", "path": "members", "value": [{"value": "{user_id}", "type": "User"}]}),
         no_quirks=True),
)

DEPROVISION = _trace(
    Step("group_rename", "PATCH", "/Groups/{group_id}", status=204, inferred=True,
         body=_patch({"op": "replace", "path": "displayName", "value": "engineering@example.org"})),
    Step("remove_from_group", "PATCH", "/Groups/{group_id}", status=204, retry_status=204, inferred=True,
         body=_patch({"op": "remove", "path": 'members[value eq "{user_id}"]'})),
    Step("group_has_no_members", "GET", "/Groups/{group_id}", expect={"members": ABSENT}),
    Step("suspend", "PATCH", "/Users/{user_id}", inferred=True,
         body=_patch({"op": "replace", "path": "active", "value": False}), expect={"active": False}),
    Step("unsuspend", "PATCH", "/Users/{user_id}", inferred=True,
         body=_patch({"op": "replace", "path": "active", "value": True}), expect={"active": True}),
    Step("delete_user", "DELETE", "/Users/{user_id}", status=204, retry_status=404, inferred=True),
    Step("delete_group", "DELETE", "/Groups/{group_id}", status=204, retry_status=404, inferred=True),
)

LIFECYCLE = PROVISION + DEPROVISION


@pytest.fixture
def google(tenant_a):  # type: ignore[no-untyped-def]
    return client_for(tenant_a, LIFECYCLE)


def test_google_lifecycle_replay(google, tenant_a):
    def map_role(run):  # type: ignore[no-untyped-def]
        map_group_to_role(run.variables["group_id"], "viewer")

    def role(expected):  # type: ignore[no-untyped-def]
        def check(run):  # type: ignore[no-untyped-def]
            recompute_roles_as_handler(tenant_a, run.variables["user_id"])
            assert directory_state().grants == expected

        return check

    replay(google, LIFECYCLE, hooks={"group_create": map_role, "add_to_group": role({USER: "viewer"}),
                                     "remove_from_group": role({})})
    state = directory_state()
    assert state.users == {} and state.groups == [] and state.memberships == set()


def test_google_replay_twice_creates_no_duplicates(google):
    first = replay(google, PROVISION)
    second = replay(google, PROVISION)
    assert {"create_user", "group_create"} <= set(second.skipped) and second.variables == first.variables
    state = directory_state()
    assert list(state.users) == [USER] and state.memberships == {(GROUP, USER)}


def test_google_replay_with_timeout_retries_leaves_one_user_and_one_membership(google):
    run = replay(google, PROVISION, retry=True)
    assert list(directory_state().users) == [USER] and directory_state().memberships == {(GROUP, USER)}
    replay(google, DEPROVISION, variables=run.variables, retry=True)
    assert directory_state().users == {}


def test_google_count_only_probe_is_a_plain_list(google):
    google.create_user(USER)
    run = replay(google, PROVISION.only("probe"))
    assert run["probe"]["itemsPerPage"] == 1 and run["probe"]["totalResults"] == 1
