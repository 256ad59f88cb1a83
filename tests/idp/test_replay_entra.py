"""Microsoft Entra ID (custom SCIM app), with and without `?aadOptscim062020`, replayed over HTTP.

Traces: idp-quirks.md §2.2 (default: capitalised ops, string booleans, legacy member removal),
§2.3 (flag: path-less replace with dotted and URN keys) and the validator edge shapes. Entra
looks users up by userName and groups by displayName before it creates them, always PATCHes,
and DELETEs a user only on hard delete. The User-Agent and the flag's position in the query
string are [inferred]: the doc records neither.
"""

from __future__ import annotations

import pytest

from directory.models import DirectoryUser
from scim.quirks import Quirk
from scim_api.models import RequestLog
from tests.idp.directory_state import directory_state, map_group_to_role, recompute_roles_as_handler
from tests.idp.replay import ABSENT, Step, Trace, client_for, one_of, replay
from tests.support.scim_client import ENTERPRISE, GROUP_SCHEMA, PATCH_OP, USER_SCHEMA

pytestmark = pytest.mark.django_db

USER = "Test_User_00aa00aa@contoso.com"
RENAMED = "renamed_user@contoso.com"
MANAGER = "manager@contoso.com"
GROUP = "Engineering"
MS_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
UA = "Azure AD SCIM Client"  # [inferred]
LOOKUP = '/Users?filter=userName%20eq%20%22Test_User_00aa00aa%40contoso.com%22'


def _patch(*ops: dict) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(ops)}


def _trace(*steps: Step) -> Trace:
    return Trace(idp="entra", user_agent=UA, steps=steps)


PROVISION = _trace(
    Step("test_connection_random_guid", "GET",
         '/Users?filter=userName%20eq%20%2297a3b3c0-5f4e-4c4a-9a52-0e3c1b1f0d55%22',
         expect={"totalResults": 0, "Resources": []}, no_quirks=True),
    Step("schema_discovery", "GET", "/Schemas"),
    Step("lookup_before_create", "GET", LOOKUP, expect={"totalResults": one_of(0, 1)},
         capture={"user_id": "Resources.0.id", "external_id": "Resources.0.externalId"}, capture_optional=True),
    Step("create_user", "POST", "/Users", if_unbound="user_id", status=201, retry_status=409,
         body={"schemas": [USER_SCHEMA, ENTERPRISE], "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
               "userName": USER, "active": True,
               "emails": [{"primary": True, "type": "work", "value": USER}], "meta": {"resourceType": "User"},
               "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
               "roles": [], "title": None, "addresses": None},
         expect={"userName": USER, "active": True, "roles": ABSENT, "title": ABSENT, "schemas": [USER_SCHEMA]},
         capture={"user_id": "id", "external_id": "externalId"}, quirks=(Quirk.NULL_ATTRIBUTE,)),
    # Entra matches on the externalId it holds now (the update below changes it). [inferred]
    Step("lookup_by_externalId", "GET", '/Users?filter=externalId%20eq%20%22{external_id}%22',
         expect={"totalResults": 1, "Resources.0.id": "{user_id}"}),
    Step("create_manager", "POST", "/Users", if_unbound="manager_id", status=201,
         body={"schemas": [USER_SCHEMA], "userName": MANAGER, "active": True}, capture={"manager_id": "id"}),
    Step("get_user", "GET", "/Users/{user_id}", expect={"id": "{user_id}"}),
    Step("update_multi_attr", "PATCH", "/Users/{user_id}",
         body=_patch(
             {"op": "Replace", "path": "displayName", "value": "Pvlo"},
             {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "updatedEmail@contoso.com"},
             {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
             {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
             {"op": "Replace", "path": "externalId", "value": "Eqpj"},
             {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Retail"},
             {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "Eqpj"},
             {"op": "Replace", "path": 'addresses[type eq "work"].formatted', "value": "18/2111"},
         ),
         expect={"displayName": "Pvlo", "emails": [{"primary": True, "type": "work", "value": "updatedEmail@contoso.com"}],
                 "name.givenName": "Gtfd", "externalId": "Eqpj", f"{ENTERPRISE}.department": "Retail",
                 f"{ENTERPRISE}.employeeNumber": "Eqpj", "addresses": [{"type": "work", "formatted": "18/2111"}]},
         quirks=(Quirk.OP_CAPITALISED,)),
    Step("add_single_value_string", "PATCH", "/Users/{user_id}",
         body=_patch({"op": "Add", "path": "nickName", "value": "Babs"}), expect={"nickName": "Babs"}),
    Step("set_manager", "PATCH", "/Users/{user_id}",
         body=_patch({"op": "Add", "path": "manager",
                      "value": [{"$ref": "https://testserver/scim/v2/Users/{manager_id}", "value": "{manager_id}"}]}),
         expect={f"{ENTERPRISE}.manager.value": "{manager_id}"}, quirks=(Quirk.LIST_FOR_SINGLE_VALUED,)),
    Step("group_lookup", "GET", '/Groups?excludedAttributes=members&filter=displayName%20eq%20%22Engineering%22',
         expect={"totalResults": one_of(0, 1), "Resources.0.members": ABSENT},
         capture={"group_id": "Resources.0.id"}, capture_optional=True),
    Step("group_create", "POST", "/Groups", if_unbound="group_id", status=201, retry_status=409,
         body={"schemas": [GROUP_SCHEMA, MS_GROUP], "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
               "displayName": GROUP, "meta": {"resourceType": "Group"}},
         expect={"displayName": GROUP, "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "schemas": [GROUP_SCHEMA]},
         capture={"group_id": "id"}, quirks=(Quirk.NONSTANDARD_SCHEMA_URN,)),
    Step("group_get_no_members", "GET", "/Groups/{group_id}?excludedAttributes=members",
         expect={"members": ABSENT, "id": "{group_id}"}),
    Step("add_to_group", "PATCH", "/Groups/{group_id}", status=204, retry_status=204,
         body=_patch({"op": "Add", "path": "members", "value": [{"$ref": None, "value": "{user_id}"}]}),
         quirks=(Quirk.OP_CAPITALISED, Quirk.MEMBER_NULL_REF, Quirk.MEMBER_MISSING_TYPE)),
    Step("add_manager_to_group", "PATCH", "/Groups/{group_id}", status=204,
         body=_patch({"op": "Add", "path": "members", "value": [{"$ref": None, "value": "{manager_id}"}]})),
    Step("add_to_group_again_idempotent", "PATCH", "/Groups/{group_id}", status=204,
         body=_patch({"op": "Add", "path": "members", "value": [{"$ref": None, "value": "{user_id}"}]})),
    Step("group_has_one_member", "GET", "/Groups/{group_id}",
         expect={"members.0.value": "{user_id}", "members.1.value": "{manager_id}", "members.2": ABSENT}),
    Step("periodic_resend_active_true", "PATCH", "/Users/{user_id}",
         body=_patch({"op": "Replace", "path": "active", "value": "True"}), expect={"active": True}),
)

DEPROVISION = _trace(
    Step("rename_userName", "PATCH", "/Users/{user_id}",
         body=_patch({"op": "Replace", "path": "userName", "value": RENAMED}), expect={"userName": RENAMED}),
    Step("group_rename", "PATCH", "/Groups/{group_id}", status=204,
         body=_patch({"op": "Replace", "path": "displayName", "value": "Engineering-renamed"})),
    Step("remove_from_group_legacy_shape", "PATCH", "/Groups/{group_id}", status=204, retry_status=204,
         body=_patch({"op": "Remove", "path": "members", "value": [{"value": "{user_id}"}]}),
         quirks=(Quirk.MEMBER_REMOVE_VALUE_LIST,)),
    Step("group_after_removal", "GET", "/Groups/{group_id}",
         expect={"displayName": "Engineering-renamed", "members.0.value": "{manager_id}", "members.1": ABSENT}),
    # Seen in real Entra traffic (Captain-P-Goldfish/SCIM-SDK#686, apache/directory-scimple#1242): the
    # manager as its bare id, with the full extension URN as the path.
    Step("set_manager_bare_id", "PATCH", "/Users/{user_id}",
         body=_patch({"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "{manager_id}"}),
         expect={f"{ENTERPRISE}.manager.value": "{manager_id}"}, quirks=(Quirk.BARE_ID_FOR_REFERENCE,)),
    Step("remove_manager_by_filter", "PATCH", "/Users/{user_id}",
         body=_patch({"op": "remove", "path": 'manager[value eq "{manager_id}"]'}),
         expect={f"{ENTERPRISE}.manager": ABSENT},
         quirks=(Quirk.VALUE_FILTER_ON_SINGLE_VALUED,)),
    Step("deactivate_string_bool", "PATCH", "/Users/{user_id}",
         body=_patch({"op": "Replace", "path": "active", "value": "False"}), expect={"active": False},
         quirks=(Quirk.STRING_BOOLEAN, Quirk.OP_CAPITALISED)),
    Step("deactivated_still_filterable", "GET", '/Users?filter=userName%20eq%20%22renamed_user%40contoso.com%22',
         expect={"totalResults": 1, "Resources.0.active": False}),
    Step("reactivate_string_bool", "PATCH", "/Users/{user_id}",
         body=_patch({"op": "Replace", "path": "active", "value": "True"}), expect={"active": True},
         quirks=(Quirk.STRING_BOOLEAN,)),
    Step("soft_delete", "PATCH", "/Users/{user_id}",
         body=_patch({"op": "Replace", "path": "active", "value": "False"}), expect={"active": False}),
    Step("hard_delete_after_30_days", "DELETE", "/Users/{user_id}", status=204, retry_status=404),
    Step("get_deleted_404", "GET", "/Users/{user_id}", status=404),
    Step("delete_group", "DELETE", "/Groups/{group_id}", status=204, retry_status=404),
)

LIFECYCLE = PROVISION + DEPROVISION

# With ?aadOptscim062020 in the tenant URL: lowercase ops, merged path-less replace, RFC removal.
FLAG = Trace(
    idp="entra",
    user_agent=UA,
    steps=(
        Step("lookup_before_create", "GET", '/Users?aadOptscim062020&filter=userName%20eq%20%22flag%40contoso.com%22',
             expect={"totalResults": 0}, quirks=(Quirk.UNKNOWN_QUERY_PARAMETER,), inferred=True),
        Step("create_user", "POST", "/Users?aadOptscim062020", status=201, capture={"user_id": "id"},
             body={"schemas": [USER_SCHEMA, ENTERPRISE], "userName": "flag@contoso.com", "active": True,
                   "emails": [{"primary": True, "type": "work", "value": "flag@contoso.com"}]}),
        Step("group_create", "POST", "/Groups?aadOptscim062020", status=201, capture={"group_id": "id"},
             body={"schemas": [GROUP_SCHEMA], "displayName": "FlagGroup"}),
        Step("add_to_group", "PATCH", "/Groups/{group_id}?aadOptscim062020", status=204,
             body=_patch({"op": "add", "path": "members", "value": [{"value": "{user_id}"}]})),
        Step("update_merged_replace", "PATCH", "/Users/{user_id}?aadOptscim062020",
             body=_patch(
                 {"op": "replace", "path": 'emails[type eq "work"].value', "value": "TestMhvaes@contoso.com"},
                 {"op": "replace", "value": {"displayName": "Bjfe", "name.givenName": "Kkom", "name.familyName": "Unua",
                                             f"{ENTERPRISE}:employeeNumber": "Aklq"}},
             ),
             expect={"displayName": "Bjfe", "name.givenName": "Kkom", "name.familyName": "Unua",
                     f"{ENTERPRISE}.employeeNumber": "Aklq", "emails.0.value": "TestMhvaes@contoso.com"},
             quirks=(Quirk.PATHLESS_DOTTED_KEY, Quirk.PATHLESS_URN_KEY)),
        Step("add_single_value", "PATCH", "/Users/{user_id}?aadOptscim062020",
             body=_patch({"op": "add", "path": "nickName", "value": "Babs"}), expect={"nickName": "Babs"}),
        Step("validator_typed_emails", "PATCH", "/Users/{user_id}?aadOptscim062020",
             body=_patch(
                 {"op": "add", "path": 'emails[type eq "home"].value', "value": "angelita@example.us"},
                 {"op": "replace", "path": 'emails[type eq "home"].primary', "value": True},
                 {"op": "add", "path": 'emails[type eq "work"].primary', "value": False},
             ),
             expect={"emails": [{"primary": False, "type": "work", "value": "TestMhvaes@contoso.com"},
                                {"type": "home", "value": "angelita@example.us", "primary": True}]},
             quirks=(Quirk.FILTERED_ADD_CREATES_VALUE,)),
        Step("remove_from_group_rfc", "PATCH", "/Groups/{group_id}?aadOptscim062020", status=204,
             body=_patch({"op": "remove", "path": 'members[value eq "{user_id}"]'})),
        Step("deactivate_bool", "PATCH", "/Users/{user_id}?aadOptscim062020",
             body=_patch({"op": "replace", "path": "active", "value": False}), expect={"active": False}),
        Step("reactivate_bool", "PATCH", "/Users/{user_id}?aadOptscim062020",
             body=_patch({"op": "replace", "path": "active", "value": True}), expect={"active": True}),
        Step("post_with_string_active", "POST", "/Users?aadOptscim062020", status=201,
             body={"schemas": [USER_SCHEMA], "userName": "emp1@contoso.com", "active": "True"},
             expect={"active": True}, quirks=(Quirk.STRING_BOOLEAN,)),
        Step("hard_delete", "DELETE", "/Users/{user_id}?aadOptscim062020", status=204),
        Step("delete_group", "DELETE", "/Groups/{group_id}?aadOptscim062020", status=204),
    ),
)


@pytest.fixture
def entra(tenant_a):  # type: ignore[no-untyped-def]
    return client_for(tenant_a, LIFECYCLE)


def _last_quirks() -> list[str]:
    entry = RequestLog.objects.order_by("-id").first()
    assert entry is not None
    return list(entry.quirks)


def test_entra_lifecycle_replay(entra, tenant_a):
    def map_role(run):  # type: ignore[no-untyped-def]
        map_group_to_role(run.variables["group_id"], "admin")

    def member_role(run):  # type: ignore[no-untyped-def]
        recompute_roles_as_handler(tenant_a, run.variables["user_id"], run.variables["manager_id"])
        assert directory_state().grants == {USER.lower(): "admin"}

    def role_after_removal(run):  # type: ignore[no-untyped-def]
        recompute_roles_as_handler(tenant_a, run.variables["user_id"])
        assert directory_state().grants == {}

    run = replay(entra, PROVISION, hooks={"group_create": map_role, "add_to_group": member_role})
    replay(entra, DEPROVISION, variables=run.variables, hooks={"remove_from_group_legacy_shape": role_after_removal})
    state = directory_state()
    assert state.users == {MANAGER: True}
    assert state.groups == [] and state.memberships == set()


def test_entra_replay_twice_looks_up_user_and_group_and_creates_no_duplicates(entra):
    first = replay(entra, PROVISION)
    # Entra remembers the manager it provisioned; the user and group it finds by filter.
    second = replay(entra, PROVISION, variables={"manager_id": first.variables["manager_id"]})
    assert "create_user" in second.skipped and "group_create" in second.skipped
    assert second.variables["user_id"] == first.variables["user_id"]
    state = directory_state()
    assert sorted(state.users) == sorted([USER.lower(), MANAGER]) and state.groups == [GROUP]
    assert state.memberships == {(GROUP, USER.lower()), (GROUP, MANAGER)}


def test_entra_replay_with_timeout_retries_leaves_one_user_and_one_membership(entra):
    run = replay(entra, PROVISION, retry=True)
    assert run["create_user (retried)"]["scimType"] == "uniqueness"
    state = directory_state()
    assert len(state.users) == 2 and state.memberships == {(GROUP, USER.lower()), (GROUP, MANAGER)}
    replay(entra, DEPROVISION, variables=run.variables, retry=True)
    assert DirectoryUser.objects.filter(user_name=RENAMED).count() == 0


def test_entra_flag_replay(tenant_a):
    client = client_for(tenant_a, FLAG)
    replay(client, FLAG)
    state = directory_state()
    assert state.users == {"emp1@contoso.com": True} and state.groups == [] and state.memberships == set()


def test_entra_string_false_deactivates_user(entra):
    replay(entra, LIFECYCLE.only("create_user", "deactivate_string_bool"))
    assert Quirk.STRING_BOOLEAN.value in _last_quirks()
    assert directory_state().users == {USER.lower(): False}


def test_entra_capitalised_replace_op(entra):
    replay(entra, LIFECYCLE.only("create_user", "rename_userName"))
    assert Quirk.OP_CAPITALISED.value in _last_quirks()
    assert directory_state().users == {RENAMED: True}


def test_entra_legacy_member_remove_removes_only_listed(entra):
    run = replay(entra, LIFECYCLE.only("create_user", "create_manager", "group_create", "add_to_group",
                                       "add_manager_to_group"))
    replay(entra, LIFECYCLE.only("remove_from_group_legacy_shape"), variables=run.variables)
    assert Quirk.MEMBER_REMOVE_VALUE_LIST.value in _last_quirks()
    assert directory_state().memberships == {(GROUP, MANAGER)}


def test_entra_null_ref_member_is_added(entra):
    replay(entra, LIFECYCLE.only("create_user", "group_create", "add_to_group"))
    assert Quirk.MEMBER_NULL_REF.value in _last_quirks()
    assert directory_state().memberships == {(GROUP, USER.lower())}


def test_entra_filtered_email_replace_creates_missing_work_email(entra):
    created = entra.create_user("noemail@contoso.com")
    r = entra.patch_ops(f"/Users/{created['id']}",
                        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "new@contoso.com"})
    assert r.status == 200 and r["emails"] == [{"type": "work", "value": "new@contoso.com"}]
    assert Quirk.FILTERED_ADD_CREATES_VALUE.value in _last_quirks()
    assert DirectoryUser.objects.get(user_name="noemail@contoso.com").email == "new@contoso.com"


def test_entra_manager_as_list_sets_manager(entra):
    run = replay(entra, LIFECYCLE.only("create_user", "create_manager", "set_manager"))
    assert Quirk.LIST_FOR_SINGLE_VALUED.value in _last_quirks()
    user = DirectoryUser.objects.get(user_name=USER)
    assert str(user.manager_id) == run.variables["manager_id"]


def test_entra_manager_as_bare_id_sets_manager(entra):
    run = replay(entra, LIFECYCLE.only("create_user", "create_manager", "set_manager_bare_id"))
    assert Quirk.BARE_ID_FOR_REFERENCE.value in _last_quirks()
    user = DirectoryUser.objects.get(user_name=USER)
    assert str(user.manager_id) == run.variables["manager_id"]


def test_entra_manager_as_bare_id_inside_the_extension_on_create(entra):
    manager = entra.create_user("boss@contoso.com")
    body = {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": "report@contoso.com",
        ENTERPRISE: {"employeeNumber": "7", "manager": manager["id"]},
    }
    r = entra.post("/Users", body)
    assert r.status == 201, r.body
    assert r[ENTERPRISE]["manager"] == {"value": manager["id"]}
    assert Quirk.BARE_ID_FOR_REFERENCE.value in _last_quirks()
    assert str(DirectoryUser.objects.get(user_name="report@contoso.com").manager_id) == manager["id"]


def test_entra_manager_value_filter_removes_manager(entra):
    run = replay(entra, LIFECYCLE.only("create_user", "create_manager", "set_manager", "remove_manager_by_filter"))
    assert Quirk.VALUE_FILTER_ON_SINGLE_VALUED.value in _last_quirks()
    assert DirectoryUser.objects.get(id=run.variables["user_id"]).manager_id is None


def test_entra_pathless_dotted_and_urn_keys_update_user(tenant_a):
    client = client_for(tenant_a, FLAG)
    replay(client, FLAG.only("create_user", "update_merged_replace"))
    assert {Quirk.PATHLESS_DOTTED_KEY.value, Quirk.PATHLESS_URN_KEY.value} <= set(_last_quirks())
    user = DirectoryUser.objects.get(user_name="flag@contoso.com")
    assert (user.given_name, user.family_name, user.employee_number) == ("Kkom", "Unua", "Aklq")
    assert "name.givenName" not in user.resource and f"{ENTERPRISE}:employeeNumber" not in user.resource


def test_entra_string_true_on_post_creates_active_user(tenant_a):
    client = client_for(tenant_a, FLAG)
    replay(client, FLAG.only("post_with_string_active"))
    assert Quirk.STRING_BOOLEAN.value in _last_quirks()
    assert directory_state().users == {"emp1@contoso.com": True}


def test_entra_tenant_url_flag_is_an_ignored_query_parameter(tenant_a):
    client = client_for(tenant_a, FLAG)
    replay(client, FLAG.only("lookup_before_create"))
    assert Quirk.UNKNOWN_QUERY_PARAMETER.value in _last_quirks()
