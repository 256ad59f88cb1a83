"""JumpCloud (Custom SCIM Integration), replayed over HTTP.

Trace: idp-quirks.md §2.5 (medium-low confidence). Activation creates and deletes a real test
user and group; updates are one PATCH op per attribute; members carry only `value`; removal is
the Entra-style value list. [inferred]: the User-Agent, the group rename, and what JumpCloud does
after a 409 on group create (here: look the group up by displayName and link it).
"""

from __future__ import annotations

import pytest

from scim.quirks import Quirk
from scim_api.models import RequestLog
from tests.idp.directory_state import directory_state, map_group_to_role, recompute_roles_as_handler
from tests.idp.replay import ABSENT, Step, Trace, client_for, one_of, replay
from tests.support.scim_client import GROUP_SCHEMA, PATCH_OP, USER_SCHEMA

pytestmark = pytest.mark.django_db

USER = "john.smith@example.com"
OTHER = "jane.roe@example.com"
GROUP = "Engineering"


def _patch(*ops: dict) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(ops)}


def _user(user_name: str, given: str, external_id: str) -> dict:
    return {"schemas": [USER_SCHEMA], "userName": user_name, "externalId": external_id,
            "name": {"givenName": given, "familyName": "Smith"}, "displayName": f"{given} Smith",
            "emails": [{"value": user_name, "type": "work", "primary": True}], "active": True}


def _trace(*steps: Step) -> Trace:
    return Trace(idp="jumpcloud", user_agent="JumpCloud SCIM Client", steps=steps)  # UA [inferred]


ACTIVATION = _trace(
    Step("activate_probe", "GET", "/Users", expect={"startIndex": 1}),
    Step("activate_create_test_user", "POST", "/Users", status=201, capture={"test_user_id": "id"},
         body={"schemas": [USER_SCHEMA], "userName": "jc-test-user@example.com",
               "name": {"givenName": "JumpCloud", "familyName": "Test"},
               "emails": [{"value": "jc-test-user@example.com", "type": "work", "primary": True}], "active": True},
         expect={"active": True}),
    Step("activate_create_test_group", "POST", "/Groups", status=201, capture={"test_group_id": "id"},
         body={"schemas": [GROUP_SCHEMA], "displayName": "JumpCloud Test Group", "members": []}),
    Step("activate_delete_test_group", "DELETE", "/Groups/{test_group_id}", status=204),
    Step("activate_delete_test_user", "DELETE", "/Users/{test_user_id}", status=204),
)

PROVISION = _trace(
    Step("lookup_before_create", "GET", "/Users?filter=userName%20eq%20%22john.smith%40example.com%22",
         expect={"totalResults": one_of(0, 1)}, capture={"user_id": "Resources.0.id"}, capture_optional=True),
    Step("create_user", "POST", "/Users", if_unbound="user_id", status=201, retry_status=409,
         body=_user(USER, "John", "5f1e2d3c4b5a69788796a5b4"), capture={"user_id": "id"},
         expect={"userName": USER, "active": True, "externalId": "5f1e2d3c4b5a69788796a5b4"}),
    Step("lookup_other_before_create", "GET", "/Users?filter=userName%20eq%20%22jane.roe%40example.com%22",
         capture={"other_id": "Resources.0.id"}, capture_optional=True),
    Step("create_other_user", "POST", "/Users", if_unbound="other_id", status=201,
         body=_user(OTHER, "Jane", "5f1e2d3c4b5a69788796a5b5"), capture={"other_id": "id"}),
    Step("update_user_one_op_per_attr", "PATCH", "/Users/{user_id}",
         body=_patch({"op": "replace", "path": "name.givenName", "value": "Johnny"},
                     {"op": "replace", "path": "name.familyName", "value": "Smith"},
                     {"op": "replace", "path": "displayName", "value": "Johnny Smith"}),
         expect={"name.givenName": "Johnny", "displayName": "Johnny Smith", "active": True}, no_quirks=True),
    # JumpCloud creates the group without looking it up first; a re-run gets 409 and links. [inferred]
    Step("group_create", "POST", "/Groups", status=(201, 409), retry_status=409,
         body={"schemas": [GROUP_SCHEMA], "displayName": GROUP, "members": []},
         capture={"group_id": "id"}, capture_optional=True, expect={"displayName": GROUP}),
    Step("group_lookup_after_conflict", "GET", "/Groups?filter=displayName%20eq%20%22Engineering%22",
         if_unbound="group_id", expect={"totalResults": 1}, capture={"group_id": "Resources.0.id"}, inferred=True),
    Step("add_to_group_minimal_member", "PATCH", "/Groups/{group_id}", status=204, retry_status=204,
         body=_patch({"op": "add", "path": "members", "value": [{"value": "{user_id}"}, {"value": "{other_id}"}]}),
         quirks=(Quirk.MEMBER_MISSING_TYPE,)),
    Step("group_has_members", "GET", "/Groups/{group_id}",
         expect={"members.value={user_id}.type": "User", "members.value={other_id}.type": "User", "members.2": ABSENT}),
)

DEPROVISION = _trace(
    Step("group_rename", "PATCH", "/Groups/{group_id}", status=204,
         body=_patch({"op": "replace", "path": "displayName", "value": "Engineering Platform"}), inferred=True),
    Step("remove_from_group_value_list", "PATCH", "/Groups/{group_id}", status=204, retry_status=204,
         body=_patch({"op": "remove", "path": "members", "value": [{"value": "{user_id}"}]}),
         quirks=(Quirk.MEMBER_REMOVE_VALUE_LIST,)),
    Step("group_keeps_unlisted_member", "GET", "/Groups/{group_id}",
         expect={"displayName": "Engineering Platform", "members.0.value": "{other_id}", "members.1": ABSENT}),
    Step("deactivate", "PATCH", "/Users/{user_id}",
         body=_patch({"op": "replace", "path": "active", "value": False}), expect={"active": False}, no_quirks=True),
    Step("reactivate", "PATCH", "/Users/{user_id}",
         body=_patch({"op": "replace", "path": "active", "value": True}), expect={"active": True}),
    Step("delete_user", "DELETE", "/Users/{user_id}", status=204, retry_status=404),
    Step("delete_group", "DELETE", "/Groups/{group_id}", status=204, retry_status=404),
)

LIFECYCLE = ACTIVATION + PROVISION + DEPROVISION


@pytest.fixture
def jumpcloud(tenant_a):  # type: ignore[no-untyped-def]
    return client_for(tenant_a, LIFECYCLE)


def _last_quirks() -> list[str]:
    entry = RequestLog.objects.order_by("-id").first()
    assert entry is not None
    return list(entry.quirks)


def test_jumpcloud_lifecycle_replay(jumpcloud, tenant_a):
    def map_role(run):  # type: ignore[no-untyped-def]
        map_group_to_role(run.variables["group_id"], "editor")

    def roles(run):  # type: ignore[no-untyped-def]
        recompute_roles_as_handler(tenant_a, run.variables["user_id"], run.variables["other_id"])

    run = replay(jumpcloud, LIFECYCLE, hooks={
        "group_create": map_role, "add_to_group_minimal_member": roles, "remove_from_group_value_list": roles})
    assert run.skipped == ["group_lookup_after_conflict"]
    state = directory_state()
    assert state.users == {OTHER: True} and state.groups == [] and state.memberships == set()
    assert state.grants == {OTHER: "editor"}  # the unlisted member kept the group's role


def test_jumpcloud_replay_twice_hits_409_on_group_create_and_links(jumpcloud):
    first = replay(jumpcloud, PROVISION)
    second = replay(jumpcloud, PROVISION)
    assert second["group_create"].status == 409 and second["group_create"]["scimType"] == "uniqueness"
    assert second.variables == first.variables
    state = directory_state()
    assert sorted(state.users) == [OTHER, USER] and state.groups == [GROUP]
    assert state.memberships == {(GROUP, USER), (GROUP, OTHER)}


def test_jumpcloud_replay_with_timeout_retries_leaves_one_user_and_one_membership(jumpcloud):
    run = replay(jumpcloud, PROVISION, retry=True)
    assert directory_state().memberships == {(GROUP, USER), (GROUP, OTHER)}
    replay(jumpcloud, DEPROVISION, variables=run.variables, retry=True)
    assert directory_state().users == {OTHER: True}


def test_jumpcloud_activation_leaves_nothing_behind(jumpcloud):
    replay(jumpcloud, ACTIVATION)
    state = directory_state()
    assert state.users == {} and state.groups == []


def test_jumpcloud_member_remove_value_list_removes_only_listed(jumpcloud):
    replay(jumpcloud, PROVISION + DEPROVISION.only("remove_from_group_value_list"))
    assert Quirk.MEMBER_REMOVE_VALUE_LIST.value in _last_quirks()
    assert directory_state().memberships == {(GROUP, OTHER)}


def test_jumpcloud_minimal_member_is_added_as_user(jumpcloud):
    replay(jumpcloud, PROVISION)
    entry = RequestLog.objects.filter(method="PATCH", resource_type="Group").order_by("-id").first()
    assert entry is not None and Quirk.MEMBER_MISSING_TYPE.value in entry.quirks
    assert directory_state().memberships == {(GROUP, USER), (GROUP, OTHER)}
