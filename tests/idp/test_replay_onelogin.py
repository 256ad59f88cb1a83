"""OneLogin (SCIM Provisioner with SAML, SCIM v2 Enterprise; template-driven), replayed over HTTP.

Trace: idp-quirks.md §2.4. Observed: the lookup with `+` spaces and a dangling `&`, PUT for user
updates, PATCH on /Groups for membership. Template bodies carry non-RFC URNs, string booleans,
empty strings for blank fields and `manager.managerId`. [inferred]: the group bodies, the group
rename, suspend/reactivate via PUT and DELETE on "Delete" deprovisioning.
"""

from __future__ import annotations

from typing import Any

import pytest

from directory.models import DirectoryUser
from scim.quirks import Quirk
from scim_api.models import RequestLog
from tests.idp.directory_state import directory_state, map_group_to_role, recompute_roles_as_handler
from tests.idp.replay import ABSENT, Step, Trace, client_for, one_of, replay
from tests.support.scim_client import ENTERPRISE, GROUP_SCHEMA, PATCH_OP

pytestmark = pytest.mark.django_db

USER = "jdoe@example.com"
MANAGER = "boss@example.com"
GROUP = "OneLogin-Role-Engineering"
CORE_V2 = "urn:scim:schemas:core:2.0"
ENT_V2 = "urn:scim:schemas:extension:enterprise:2.0"
LOOKUP = "/Users?filter=userName+eq+%22jdoe%40example.com%22&"


def _patch(*ops: dict) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(ops)}


def _template(user_name: str, *, family: str = "Doe", title: str = "", department: str = "",
              manager_id: str = "", active: str = "true") -> dict[str, Any]:
    """The SCIM JSON template as OneLogin renders it: blanks become "" and `active` a string."""
    return {
        "schemas": [CORE_V2, ENT_V2],
        "userName": user_name,
        "name": {"familyName": family, "givenName": "Jane", "formatted": f"Jane {family}"},
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "title": title,
        ENT_V2: {"department": department, "manager": {"managerId": manager_id, "displayName": " "}},
        "active": active,
    }


def _trace(*steps: Step) -> Trace:
    return Trace(idp="onelogin", user_agent="OneLogin SCIM", steps=steps)


PROVISION = _trace(
    Step("enable_api_connection_probe", "GET", "/Users?filter=userName+eq+%22probe%40example.com%22&",
         expect={"totalResults": 0}, quirks=(Quirk.TRAILING_QUERY_SEPARATOR,), inferred=True),
    Step("lookup_before_create", "GET", LOOKUP, expect={"totalResults": one_of(0, 1)},
         capture={"user_id": "Resources.0.id"}, capture_optional=True, quirks=(Quirk.TRAILING_QUERY_SEPARATOR,)),
    Step("create_user_template", "POST", "/Users", if_unbound="user_id", status=201, retry_status=409,
         body={**_template(USER), "id": None, "meta": {"resourceType": "User"}},
         expect={"userName": USER, "active": True, "title": ABSENT, ENTERPRISE: ABSENT, "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]},
         capture={"user_id": "id"},
         quirks=(Quirk.NONSTANDARD_SCHEMA_URN, Quirk.EMPTY_STRING_CLEARS, Quirk.STRING_BOOLEAN, Quirk.MANAGER_ID_KEY)),
    Step("lookup_after_create", "GET", LOOKUP, expect={"totalResults": 1, "Resources.0.id": "{user_id}"}),
    Step("manager_lookup", "GET", "/Users?filter=userName+eq+%22boss%40example.com%22&",
         capture={"manager_id": "Resources.0.id"}, capture_optional=True),
    Step("create_manager", "POST", "/Users", if_unbound="manager_id", status=201,
         body=_template(MANAGER, title="Director"), capture={"manager_id": "id"}, expect={"title": "Director"}),
    Step("update_user_put", "PUT", "/Users/{user_id}?",
         body=_template(USER, family="Doe-Smith", title="Engineer", department="R&D", manager_id="{manager_id}"),
         expect={"name.familyName": "Doe-Smith", "title": "Engineer", f"{ENTERPRISE}.department": "R&D",
                 f"{ENTERPRISE}.manager.value": "{manager_id}", "active": True},
         quirks=(Quirk.NONSTANDARD_SCHEMA_URN, Quirk.MANAGER_ID_KEY, Quirk.STRING_BOOLEAN)),
    Step("clear_title_put", "PUT", "/Users/{user_id}?",
         body=_template(USER, family="Doe-Smith", department="R&D", manager_id="{manager_id}"),
         expect={"title": ABSENT, f"{ENTERPRISE}.department": "R&D"}, quirks=(Quirk.EMPTY_STRING_CLEARS,)),
    Step("group_lookup", "GET", "/Groups?filter=displayName+eq+%22OneLogin-Role-Engineering%22&",
         capture={"group_id": "Resources.0.id"}, capture_optional=True, inferred=True),
    Step("group_create", "POST", "/Groups", if_unbound="group_id", status=201, retry_status=409,
         body={"schemas": [GROUP_SCHEMA], "displayName": GROUP, "members": []},
         capture={"group_id": "id"}, expect={"displayName": GROUP}, inferred=True),
    Step("add_to_group", "PATCH", "/Groups/{group_id}", status=204, retry_status=204,
         body=_patch({"op": "add", "path": "members", "value": [{"value": "{user_id}"}]}), inferred=True),
    Step("group_has_member", "GET", "/Groups/{group_id}",
         expect={"members.0.value": "{user_id}", "members.0.display": USER, "members.1": ABSENT}),
)

DEPROVISION = _trace(
    Step("group_rename", "PATCH", "/Groups/{group_id}", status=204,
         body=_patch({"op": "replace", "path": "displayName", "value": "OneLogin-Role-Platform"}), inferred=True),
    Step("remove_from_group", "PATCH", "/Groups/{group_id}", status=204, retry_status=204,
         body=_patch({"op": "remove", "path": 'members[value eq "{user_id}"]'}), inferred=True),
    Step("suspend_via_put", "PUT", "/Users/{user_id}?", body=_template(USER, family="Doe-Smith", active="false"),
         expect={"active": False, "title": ABSENT}, quirks=(Quirk.STRING_BOOLEAN,), inferred=True),
    Step("suspended_still_found", "GET", LOOKUP, expect={"totalResults": 1, "Resources.0.active": False}),
    Step("reactivate_via_put", "PUT", "/Users/{user_id}?", body=_template(USER, family="Doe-Smith"),
         expect={"active": True}, inferred=True),
    Step("delete_user", "DELETE", "/Users/{user_id}", status=204, retry_status=404, inferred=True),
    Step("deleted_user_not_found", "GET", LOOKUP, expect={"totalResults": 0}),
    Step("delete_group", "DELETE", "/Groups/{group_id}", status=204, retry_status=404, inferred=True),
)

LIFECYCLE = PROVISION + DEPROVISION


@pytest.fixture
def onelogin(tenant_a):  # type: ignore[no-untyped-def]
    return client_for(tenant_a, LIFECYCLE)


def _last_quirks() -> list[str]:
    entry = RequestLog.objects.order_by("-id").first()
    assert entry is not None
    return list(entry.quirks)


def test_onelogin_lifecycle_replay(onelogin, tenant_a):
    def map_role(run):  # type: ignore[no-untyped-def]
        map_group_to_role(run.variables["group_id"], "viewer")

    def role_granted(run):  # type: ignore[no-untyped-def]
        recompute_roles_as_handler(tenant_a, run.variables["user_id"])
        assert directory_state().grants == {USER: "viewer"}

    def role_revoked(run):  # type: ignore[no-untyped-def]
        recompute_roles_as_handler(tenant_a, run.variables["user_id"])
        assert directory_state().grants == {}

    replay(onelogin, LIFECYCLE,
           hooks={"group_create": map_role, "add_to_group": role_granted, "remove_from_group": role_revoked})
    state = directory_state()
    assert state.users == {MANAGER: True} and state.groups == [] and state.memberships == set()


def test_onelogin_replay_twice_looks_up_and_puts_without_duplicates(onelogin):
    first = replay(onelogin, PROVISION)
    second = replay(onelogin, PROVISION)
    assert {"create_user_template", "create_manager", "group_create"} <= set(second.skipped)
    assert second.variables == first.variables
    state = directory_state()
    assert sorted(state.users) == [MANAGER, USER] and state.groups == [GROUP]
    assert state.memberships == {(GROUP, USER)}


def test_onelogin_replay_with_timeout_retries_leaves_one_user_and_one_membership(onelogin):
    run = replay(onelogin, PROVISION, retry=True)
    assert directory_state().memberships == {(GROUP, USER)} and len(directory_state().users) == 2
    replay(onelogin, DEPROVISION, variables=run.variables, retry=True)
    assert directory_state().users == {MANAGER: True}


def test_onelogin_nonstandard_core_urn_accepted(onelogin):
    replay(onelogin, LIFECYCLE.only("create_user_template"))
    assert Quirk.NONSTANDARD_SCHEMA_URN.value in _last_quirks()
    assert list(directory_state().users) == [USER]


def test_onelogin_nonstandard_enterprise_urn_sets_department(onelogin):
    replay(onelogin, LIFECYCLE.only("create_user_template", "create_manager", "update_user_put"))
    assert Quirk.NONSTANDARD_SCHEMA_URN.value in _last_quirks()
    assert DirectoryUser.objects.get(user_name=USER).department == "R&D"


def test_onelogin_empty_string_clears_title(onelogin):
    replay(onelogin, LIFECYCLE.only("create_user_template", "create_manager", "update_user_put", "clear_title_put"))
    assert Quirk.EMPTY_STRING_CLEARS.value in _last_quirks()
    user = DirectoryUser.objects.get(user_name=USER)
    assert user.title == "" and "title" not in user.resource


def test_onelogin_manager_id_key_sets_manager(onelogin):
    run = replay(onelogin, LIFECYCLE.only("create_user_template", "create_manager", "update_user_put"))
    assert Quirk.MANAGER_ID_KEY.value in _last_quirks()
    assert str(DirectoryUser.objects.get(user_name=USER).manager_id) == run.variables["manager_id"]


def test_onelogin_string_false_suspends_user(onelogin):
    replay(onelogin, LIFECYCLE.only("create_user_template", "suspend_via_put"))
    assert Quirk.STRING_BOOLEAN.value in _last_quirks()
    assert directory_state().users == {USER: False}


def test_onelogin_dangling_ampersand_lookup_finds_user(onelogin):
    run = replay(onelogin, LIFECYCLE.only("create_user_template", "lookup_after_create"))
    assert Quirk.TRAILING_QUERY_SEPARATOR.value in _last_quirks()
    assert run["lookup_after_create"]["Resources"][0]["userName"] == USER
