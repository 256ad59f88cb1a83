"""Ping (PingFederate SCIM Provisioner / PingOne outbound provisioning), replayed over HTTP.

idp-quirks.md §1.6 (vendor spec tables, no recorded bodies): users are matched by userName and
updated with PUT of the full resource (never PATCH); "Provision disabled users" POSTs
active=false; Remove User Action is Disable (PUT active=false) or Delete; groups are found by
listing every group and matching client-side; membership goes through PATCH. Bodies are [inferred].
"""

from __future__ import annotations

import pytest

from tests.idp.directory_state import directory_state, map_group_to_role, recompute_roles_as_handler
from tests.idp.replay import ABSENT, Step, Trace, client_for, one_of, replay
from tests.support.scim_client import GROUP_SCHEMA, PATCH_OP, USER_SCHEMA

pytestmark = pytest.mark.django_db

USER = "pat.ping@example.net"
DISABLED = "dora.disabled@example.net"
GROUP = "Ping Engineers"


def _patch(*ops: dict) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(ops)}


def _user(user_name: str = USER, *, title: str = "Engineer", active: bool = True) -> dict:
    return {"schemas": [USER_SCHEMA], "userName": user_name, "externalId": f"ping-{user_name}",
            "name": {"givenName": "Pat", "familyName": "Ping"}, "title": title,
            "emails": [{"value": user_name, "type": "work", "primary": True}], "active": active}


def _trace(*steps: Step) -> Trace:
    return Trace(idp="ping", user_agent="PingFederate SCIM Connector", steps=steps)  # UA [inferred]


PROVISION = _trace(
    Step("lookup_before_create", "GET", '/Users?filter=userName%20eq%20%22pat.ping%40example.net%22',
         expect={"totalResults": one_of(0, 1)}, capture={"user_id": "Resources.0.id"}, capture_optional=True),
    Step("create_user", "POST", "/Users", if_unbound="user_id", status=201, retry_status=409, inferred=True,
         body=_user(), capture={"user_id": "id"}, expect={"title": "Engineer", "active": True}),
    Step("lookup_disabled_before_create", "GET", '/Users?filter=userName%20eq%20%22dora.disabled%40example.net%22',
         capture={"disabled_id": "Resources.0.id"}, capture_optional=True),
    Step("provision_disabled_user", "POST", "/Users", if_unbound="disabled_id", status=201, inferred=True,
         body=_user(DISABLED, active=False), capture={"disabled_id": "id"}, expect={"active": False}),
    Step("update_user_put", "PUT", "/Users/{user_id}", inferred=True, body=_user(title="Staff Engineer"),
         expect={"title": "Staff Engineer", "active": True, "id": "{user_id}"}, no_quirks=True),
    Step("list_all_groups", "GET", "/Groups?startIndex=1&count=100",
         capture={"group_id": f"Resources.displayName={GROUP}.id"}, capture_optional=True),
    Step("group_create", "POST", "/Groups", if_unbound="group_id", status=201, retry_status=409, inferred=True,
         body={"schemas": [GROUP_SCHEMA], "displayName": GROUP, "members": []}, capture={"group_id": "id"}),
    Step("add_to_group", "PATCH", "/Groups/{group_id}", status=204, retry_status=204, inferred=True,
         body=_patch({"op": "add", "path": "members", "value": [{"value": "{user_id}", "type": "User"}]}),
         no_quirks=True),
    Step("group_has_member", "GET", "/Groups/{group_id}",
         expect={"members.0.value": "{user_id}", "members.1": ABSENT}),
)

DEPROVISION = _trace(
    Step("group_rename_put", "PUT", "/Groups/{group_id}", inferred=True,
         body={"schemas": [GROUP_SCHEMA], "displayName": "Ping Platform", "members": [{"value": "{user_id}"}]},
         expect={"displayName": "Ping Platform", "members.0.value": "{user_id}", "members.1": ABSENT}),
    Step("remove_from_group", "PATCH", "/Groups/{group_id}", status=204, retry_status=204, inferred=True,
         body=_patch({"op": "remove", "path": 'members[value eq "{user_id}"]'})),
    Step("disable_via_put", "PUT", "/Users/{user_id}", inferred=True, body=_user(title="Staff Engineer", active=False),
         expect={"active": False}),
    Step("enable_via_put", "PUT", "/Users/{user_id}", inferred=True, body=_user(title="Staff Engineer"),
         expect={"active": True}),
    Step("delete_user", "DELETE", "/Users/{user_id}", status=204, retry_status=404, inferred=True),
    Step("delete_group", "DELETE", "/Groups/{group_id}", status=204, retry_status=404, inferred=True),
)

LIFECYCLE = PROVISION + DEPROVISION


@pytest.fixture
def ping(tenant_a):  # type: ignore[no-untyped-def]
    return client_for(tenant_a, LIFECYCLE)


def test_ping_lifecycle_replay(ping, tenant_a):
    def map_role(run):  # type: ignore[no-untyped-def]
        map_group_to_role(run.variables["group_id"], "admin")

    def role(expected):  # type: ignore[no-untyped-def]
        def check(run):  # type: ignore[no-untyped-def]
            recompute_roles_as_handler(tenant_a, run.variables["user_id"], run.variables["disabled_id"])
            assert directory_state().grants == expected

        return check

    replay(ping, LIFECYCLE, hooks={"group_create": map_role, "add_to_group": role({USER: "admin"}),
                                   "remove_from_group": role({})})
    state = directory_state()
    assert state.users == {DISABLED: False} and state.groups == [] and state.memberships == set()


def test_ping_replay_twice_finds_group_by_listing_and_creates_no_duplicates(ping):
    first = replay(ping, PROVISION)
    second = replay(ping, PROVISION)
    assert {"create_user", "provision_disabled_user", "group_create"} <= set(second.skipped)
    assert second.variables == first.variables
    state = directory_state()
    assert sorted(state.users) == [DISABLED, USER] and state.memberships == {(GROUP, USER)}


def test_ping_replay_with_timeout_retries_leaves_one_user_and_one_membership(ping):
    run = replay(ping, PROVISION, retry=True)
    assert directory_state().memberships == {(GROUP, USER)}
    replay(ping, DEPROVISION, variables=run.variables, retry=True)
    assert directory_state().users == {DISABLED: False}


def test_ping_provision_disabled_user_creates_inactive_user(ping):
    replay(ping, PROVISION.only("provision_disabled_user"))
    assert directory_state().users == {DISABLED: False}


def test_ping_put_without_title_clears_it(ping):
    run = replay(ping, PROVISION.only("create_user"))
    body = _user()
    del body["title"]
    r = ping.put(f"/Users/{run.variables['user_id']}", body)
    assert r.status == 200 and "title" not in r.body and r["active"] is True
