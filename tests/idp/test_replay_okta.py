"""Okta (OIN app: PATCH for status, Group Push; AIW app: PUT for everything), replayed over HTTP.

Trace: idp-quirks.md §2.1 and the AIW variant. Okta looks a user up by userName before it
creates one and links to what it finds; it never DELETEs users (deprovisioning is active=false).
The group lookup before Group Push is [inferred] (Okta links an existing group by name).
"""

from __future__ import annotations

import pytest

from scim.quirks import Quirk
from scim_api.models import RequestLog
from tests.idp.directory_state import directory_state, map_group_to_role, recompute_roles_as_handler
from tests.idp.replay import ABSENT, Step, Trace, client_for, one_of, replay
from tests.support.scim_client import GROUP_SCHEMA, PATCH_OP, USER_SCHEMA

pytestmark = pytest.mark.django_db

USER = "test.user@okta.local"
GROUP = "Test SCIMv2"
LOOKUP = '/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100'


def _patch(*ops: dict) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(ops)}


PROVISION = Trace(
    idp="okta",
    user_agent="Okta SCIM Client 1.0.0",
    headers={"Accept": "application/scim+json"},
    content_type="application/scim+json; charset=utf-8",
    steps=(
        Step("test_connection", "GET", "/Users?startIndex=1&count=2", expect={"startIndex": 1}, no_quirks=True),
        Step("test_connection_random_user", "GET",
             '/Users?filter=userName%20eq%20%22runscope-4b1f9e@example.com%22&startIndex=1&count=1',
             expect={"totalResults": 0, "Resources": []}),
        Step("spec_invalid_user_by_id", "GET", "/Users/010101001010101011001010101011", status=404,
             expect={"status": "404"}),
        Step("lookup_before_create", "GET", LOOKUP, expect={"totalResults": one_of(0, 1)},
             capture={"user_id": "Resources.0.id"}, capture_optional=True),
        Step("link_existing_user", "GET", "/Users/{user_id}", if_bound="user_id",
             expect={"userName": USER}),
        Step("create_user", "POST", "/Users", if_unbound="user_id", status=201, retry_status=409,
             body={"schemas": [USER_SCHEMA], "userName": USER, "name": {"givenName": "Test", "familyName": "User"},
                   "emails": [{"primary": True, "value": USER, "type": "work"}], "displayName": "Test User",
                   "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7", "groups": [], "password": "1mz050nq",
                   "active": True},
             expect={"userName": USER, "active": True, "externalId": "00ujl29u0le5T6Aj10h7",
                     "emails.0.primary": True, "password": ABSENT},
             capture={"user_id": "id"}, quirks=(Quirk.MEMBERS_IN_USER_BODY_IGNORED,)),
        Step("duplicate_create_conflict", "POST", "/Users", status=409,
             body={"schemas": [USER_SCHEMA], "userName": USER, "name": {"givenName": "Test", "familyName": "User"},
                   "emails": [{"primary": True, "value": USER, "type": "work"}], "displayName": "Test User",
                   "active": True},
             expect={"scimType": "uniqueness"}),
        Step("lookup_case_insensitive", "GET",
             '/Users?filter=userName%20eq%20%22TEST.USER%40OKTA.LOCAL%22&startIndex=1&count=100',
             expect={"totalResults": 1, "Resources.0.id": "{user_id}", "Resources.0.active": True}),
        Step("get_before_update", "GET", "/Users/{user_id}", expect={"id": "{user_id}"}),
        Step("update_user_put", "PUT", "/Users/{user_id}",
             body={"schemas": [USER_SCHEMA], "id": "{user_id}", "userName": USER,
                   "name": {"givenName": "Another", "middleName": "Excited", "familyName": "User"},
                   "emails": [{"primary": True, "value": USER, "type": "work", "display": USER}],
                   "active": True, "groups": [], "meta": {"resourceType": "User"}},
             expect={"name.givenName": "Another", "name.middleName": "Excited", "active": True,
                     "externalId": ABSENT, "id": "{user_id}"}),
        Step("group_lookup", "GET", '/Groups?filter=displayName%20eq%20%22Test%20SCIMv2%22&startIndex=1&count=100',
             expect={"totalResults": one_of(0, 1)}, capture={"group_id": "Resources.0.id"}, capture_optional=True,
             inferred=True),
        Step("group_push_create", "POST", "/Groups", if_unbound="group_id", status=201, retry_status=409,
             body={"schemas": [GROUP_SCHEMA], "displayName": GROUP, "members": []},
             expect={"displayName": GROUP, "members": ABSENT}, capture={"group_id": "id"}),
        Step("group_rename_noop_before_membership", "PATCH", "/Groups/{group_id}", status=204,
             body=_patch({"op": "replace", "value": {"id": "{group_id}", "displayName": GROUP}}),
             quirks=(Quirk.PATHLESS_READONLY_ID,)),
        Step("add_to_group", "PATCH", "/Groups/{group_id}", status=204, retry_status=204,
             body=_patch({"op": "add", "path": "members", "value": [{"value": "{user_id}", "display": USER}]}),
             quirks=(Quirk.MEMBER_MISSING_TYPE,)),
        Step("full_membership_replace", "PATCH", "/Groups/{group_id}", status=204,
             body=_patch({"op": "replace", "path": "members", "value": [{"value": "{user_id}", "display": USER}]})),
        Step("group_has_member", "GET", "/Groups/{group_id}",
             expect={"members.0.value": "{user_id}", "members.0.type": "User", "members.1": ABSENT}),
    ),
)

DEPROVISION = Trace(
    idp="okta",
    user_agent="Okta SCIM Client 1.0.0",
    headers={"Accept": "application/scim+json"},
    content_type="application/scim+json; charset=utf-8",
    steps=(
        Step("group_rename", "PATCH", "/Groups/{group_id}", status=204,
             body=_patch({"op": "replace", "value": {"id": "{group_id}", "displayName": "Test SCIMv2 Renamed"}}),
             quirks=(Quirk.PATHLESS_READONLY_ID,)),
        Step("remove_from_group", "PATCH", "/Groups/{group_id}", status=204, retry_status=204,
             body=_patch({"op": "remove", "path": 'members[value eq "{user_id}"]'})),
        Step("group_after_removal", "GET", "/Groups/{group_id}",
             expect={"displayName": "Test SCIMv2 Renamed", "members": ABSENT}),
        Step("deactivate", "PATCH", "/Users/{user_id}", body=_patch({"op": "replace", "value": {"active": False}}),
             expect={"active": False, "userName": USER}),
        Step("deactivated_still_readable", "GET", "/Users/{user_id}", expect={"active": False}),
        Step("deactivated_still_filterable", "GET", LOOKUP, expect={"totalResults": 1, "Resources.0.active": False}),
        Step("reactivate", "PATCH", "/Users/{user_id}", body=_patch({"op": "replace", "value": {"active": True}}),
             expect={"active": True}),
        Step("import_users_page", "GET", "/Users?startIndex=1&count=100",
             expect={"totalResults": 1, "startIndex": 1, "itemsPerPage": 1}),
        Step("import_groups_page", "GET", "/Groups?startIndex=1&count=100", expect={"totalResults": 1}),
        Step("final_deactivate_instead_of_delete", "PATCH", "/Users/{user_id}",
             body=_patch({"op": "replace", "value": {"active": False}}), expect={"active": False}),
        Step("unlink_group_delete", "DELETE", "/Groups/{group_id}", status=204, retry_status=404),
        Step("deleted_group_is_gone", "GET", "/Groups/{group_id}", status=404),
    ),
)

LIFECYCLE = PROVISION + DEPROVISION

AIW = Trace(
    idp="okta",
    user_agent="Okta SCIM Client 1.0.0",
    content_type="application/scim+json; charset=utf-8",
    steps=(
        Step("create_user", "POST", "/Users", status=201, capture={"user_id": "id"},
             body={"schemas": [USER_SCHEMA], "userName": USER, "name": {"givenName": "Test", "familyName": "User"},
                   "emails": [{"primary": True, "value": USER, "type": "work"}], "active": True}),
        Step("create_group", "POST", "/Groups", status=201, capture={"group_id": "id"},
             body={"schemas": [GROUP_SCHEMA], "displayName": GROUP, "members": []}),
        Step("group_membership_via_put", "PUT", "/Groups/{group_id}",
             body={"schemas": [GROUP_SCHEMA], "id": "{group_id}", "displayName": GROUP,
                   "members": [{"value": "{user_id}", "display": USER}]},
             expect={"displayName": GROUP, "members.0.value": "{user_id}", "members.1": ABSENT}),
        Step("put_without_active", "PUT", "/Users/{user_id}",
             body={"schemas": [USER_SCHEMA], "id": "{user_id}", "userName": USER,
                   "name": {"givenName": "Another", "familyName": "User"},
                   "emails": [{"primary": True, "value": USER, "type": "work"}]},
             expect={"active": True, "name.givenName": "Another"}),
        Step("deactivate_via_put", "PUT", "/Users/{user_id}",
             body={"schemas": [USER_SCHEMA], "id": "{user_id}", "userName": USER,
                   "name": {"givenName": "Another", "familyName": "User"},
                   "emails": [{"primary": True, "value": USER, "type": "work"}], "active": False, "groups": [],
                   "meta": {"resourceType": "User"}},
             expect={"active": False}),
        Step("group_membership_via_put_empty", "PUT", "/Groups/{group_id}",
             body={"schemas": [GROUP_SCHEMA], "id": "{group_id}", "displayName": GROUP, "members": []},
             expect={"members": ABSENT}),
    ),
)


@pytest.fixture
def okta(tenant_a):  # type: ignore[no-untyped-def]
    return client_for(tenant_a, LIFECYCLE)


def _last_quirks() -> list[str]:
    entry = RequestLog.objects.order_by("-id").first()
    assert entry is not None
    return list(entry.quirks)


def test_okta_lifecycle_replay(okta, tenant_a):
    def map_role(run):  # type: ignore[no-untyped-def]
        map_group_to_role(run.variables["group_id"], "editor")

    def role_follows_membership(run):  # type: ignore[no-untyped-def]
        recompute_roles_as_handler(tenant_a, run.variables["user_id"])

    run = replay(okta, LIFECYCLE, hooks={"group_push_create": map_role, "full_membership_replace": role_follows_membership})
    assert run.skipped == ["link_existing_user"]
    assert directory_state().grants == {USER: "editor"}
    recompute_roles_as_handler(tenant_a, run.variables["user_id"])
    state = directory_state()
    assert state.users == {USER: False}  # Okta never deletes users: deprovisioned means inactive
    assert state.groups == [] and state.memberships == set() and state.grants == {}


def test_okta_replay_twice_links_the_existing_user_instead_of_creating(okta):
    first = replay(okta, PROVISION)
    second = replay(okta, PROVISION)
    assert "create_user" in first.sent and "link_existing_user" in first.skipped
    assert "create_user" in second.skipped and "group_push_create" in second.skipped
    assert second.variables["user_id"] == first.variables["user_id"]
    assert second.variables["group_id"] == first.variables["group_id"]
    state = directory_state()
    assert list(state.users) == [USER] and state.groups == [GROUP]
    assert state.memberships == {(GROUP, USER)}
    replay(okta, DEPROVISION, variables=second.variables)
    assert directory_state().memberships == set()


def test_okta_replay_with_timeout_retries_leaves_one_user_and_one_membership(okta):
    run = replay(okta, PROVISION, retry=True)
    assert run["create_user (retried)"].status == 409
    state = directory_state()
    assert list(state.users) == [USER] and state.memberships == {(GROUP, USER)}
    replay(okta, DEPROVISION, variables=run.variables, retry=True)
    assert directory_state().memberships == set() and directory_state().groups == []


def test_okta_aiw_replay_puts_status_and_membership(tenant_a):
    client = client_for(tenant_a, AIW)
    replay(client, AIW)
    state = directory_state()
    assert state.users == {USER: False} and state.memberships == set() and state.groups == [GROUP]


def test_okta_pathless_replace_deactivates_user(okta):
    run = replay(okta, LIFECYCLE.only("create_user", "deactivate"), variables={})
    assert run["deactivate"]["active"] is False
    assert directory_state().users == {USER: False}


def test_okta_pathless_replace_renames_group(okta):
    replay(okta, LIFECYCLE.only("group_push_create", "group_rename"))
    assert Quirk.PATHLESS_READONLY_ID.value in _last_quirks()
    assert directory_state().groups == ["Test SCIMv2 Renamed"]


def test_okta_member_without_type_is_added_as_user(okta):
    replay(okta, LIFECYCLE.only("create_user", "group_push_create", "add_to_group"))
    assert Quirk.MEMBER_MISSING_TYPE.value in _last_quirks()
    assert directory_state().memberships == {(GROUP, USER)}


def test_okta_groups_in_user_body_are_ignored(okta):
    replay(okta, LIFECYCLE.only("create_user"))
    assert Quirk.MEMBERS_IN_USER_BODY_IGNORED.value in _last_quirks()
    assert directory_state().memberships == set()


def test_okta_username_lookup_is_case_insensitive(okta):
    run = replay(okta, LIFECYCLE.only("create_user", "lookup_case_insensitive"))
    assert run["lookup_case_insensitive"]["Resources"][0]["userName"] == USER


def test_okta_aiw_put_without_active_keeps_user_active(tenant_a):
    client = client_for(tenant_a, AIW)
    replay(client, AIW.only("create_user", "put_without_active"))
    assert directory_state().users == {USER: True}
