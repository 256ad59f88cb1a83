from __future__ import annotations

import copy
from typing import Any

import pytest

from scim.errors import ScimError
from scim.filter import AttrPath, Comparison
from scim.patch import (
    MemberChange,
    PatchOperation,
    apply_patch,
    parse_patch_request,
    split_member_operations,
)
from scim.quirks import Quirk, QuirkLog
from scim.resources import parse_resource
from scim.schema import GROUP, USER, ResourceType

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def _patch(
    resource: dict[str, Any],
    *operations: dict[str, Any],
    rtype: ResourceType = USER,
    quirks: QuirkLog | None = None,
) -> dict[str, Any]:
    log = quirks if quirks is not None else QuirkLog()
    return apply_patch(resource, parse_patch_request(_body(*operations), log), rtype, log)


def _error(resource: dict[str, Any], *operations: dict[str, Any], rtype: ResourceType = USER) -> ScimError:
    with pytest.raises(ScimError) as raised:
        _patch(resource, *operations, rtype=rtype)
    return raised.value


def _parse_error(body: Any) -> ScimError:
    with pytest.raises(ScimError) as raised:
        parse_patch_request(body, QuirkLog())
    return raised.value


def _user(**attributes: Any) -> dict[str, Any]:
    return parse_resource({"schemas": [CORE_USER], "userName": "bjensen", **attributes}, USER, QuirkLog())


def _group(*member_ids: str, **attributes: Any) -> dict[str, Any]:
    members = [{"value": m, "type": "User"} for m in member_ids]
    body = {"schemas": [CORE_GROUP], "displayName": "Engineering", "members": members, **attributes}
    return parse_resource(body, GROUP, QuirkLog())


# -- parse_patch_request --------------------------------------------------------------------------


def test_a_lowercase_operation_parses_without_quirks() -> None:
    quirks = QuirkLog()
    (op,) = parse_patch_request(_body({"op": "replace", "path": "active", "value": False}), quirks)
    assert (op.op, op.path and op.path.attr, op.value) == ("replace", AttrPath(None, "active"), False)
    assert not quirks


def test_capitalised_ops_are_lowercased_and_recorded() -> None:
    quirks = QuirkLog()
    ops = parse_patch_request(
        _body({"op": "Add", "path": "nickName", "value": "Babs"}, {"op": "REMOVE", "path": "title"}), quirks
    )
    assert [op.op for op in ops] == ["add", "remove"]
    assert quirks.names == ["op_capitalised"]


def test_value_filter_paths_parse_into_attribute_filter_and_sub_attribute() -> None:
    (op,) = parse_patch_request(
        _body({"op": "replace", "path": 'emails[type eq "work"].value', "value": "x"}), QuirkLog()
    )
    assert op.path is not None
    assert op.path.attr == AttrPath(None, "emails")
    assert op.path.value_filter == Comparison(AttrPath(None, "type"), "eq", "work")
    assert op.path.sub_attr == "value"
    assert op.raw_path == 'emails[type eq "work"].value'


def test_missing_schemas_are_accepted() -> None:
    assert len(parse_patch_request({"Operations": [{"op": "remove", "path": "title"}]}, QuirkLog())) == 1


def test_operations_key_is_found_in_any_case() -> None:
    assert (
        len(
            parse_patch_request(
                {"schemas": [PATCH_OP], "operations": [{"op": "remove", "path": "title"}]}, QuirkLog()
            )
        )
        == 1
    )


@pytest.mark.parametrize(
    "body",
    [
        [],
        "remove",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "Operations": [{"op": "remove", "path": "x"}],
        },
        {"schemas": PATCH_OP, "Operations": [{"op": "remove", "path": "x"}]},
        {"schemas": [PATCH_OP]},
        {"schemas": [PATCH_OP], "Operations": []},
        {"schemas": [PATCH_OP], "Operations": {"op": "remove", "path": "x"}},
        {"schemas": [PATCH_OP], "Operations": ["remove"]},
        _body({"op": "move", "path": "title", "value": "x"}),
        _body({"path": "title", "value": "x"}),
    ],
)
def test_malformed_patch_messages_are_invalid_syntax(body: Any) -> None:
    error = _parse_error(body)
    assert (error.status, error.scim_type) == (400, "invalidSyntax")


@pytest.mark.parametrize("op", ["add", "replace", "Add"])
def test_add_and_replace_without_a_value_are_invalid_value(op: str) -> None:
    assert _parse_error(_body({"op": op, "path": "title"})).scim_type == "invalidValue"
    assert _parse_error(_body({"op": op, "path": "title", "value": None})).scim_type == "invalidValue"


def test_remove_without_a_path_is_no_target() -> None:
    error = _parse_error(_body({"op": "remove", "value": {"title": "x"}}))
    assert (error.status, error.scim_type) == (400, "noTarget")


@pytest.mark.parametrize("path", [7, "name.givenName.extra", "name..givenName", "na me"])
def test_unparseable_paths_are_invalid_path(path: Any) -> None:
    assert _parse_error(_body({"op": "replace", "path": path, "value": "x"})).scim_type == "invalidPath"


def test_a_bad_filter_inside_a_path_is_invalid_filter() -> None:
    error = _parse_error(_body({"op": "remove", "path": 'emails[type zz "work"]'}))
    assert (error.status, error.scim_type) == (400, "invalidFilter")


# -- Okta (idp-quirks.md §2.1) --------------------------------------------------------------------


def test_okta_pathless_deactivate_and_reactivate() -> None:
    user = _user(active=True)
    deactivated = _patch(user, {"op": "replace", "value": {"active": False}})
    assert deactivated["active"] is False
    assert _patch(deactivated, {"op": "replace", "value": {"active": True}})["active"] is True


def test_okta_group_rename_with_id_ignores_the_id_and_records_it() -> None:
    quirks = QuirkLog()
    group = _group()
    renamed = _patch(
        group,
        {"op": "replace", "value": {"id": "g-1", "displayName": "Test SCIMv2"}},
        rtype=GROUP,
        quirks=quirks,
    )
    assert renamed == {"schemas": [CORE_GROUP], "displayName": "Test SCIMv2"}
    assert quirks.entries == [(Quirk.PATHLESS_READONLY_ID, "id")]


def test_okta_group_push_add_member_drops_display_and_records_missing_type() -> None:
    quirks = QuirkLog()
    patched = _patch(
        _group(),
        {"op": "add", "path": "members", "value": [{"value": "u-1", "display": "test.user@okta.local"}]},
        rtype=GROUP,
        quirks=quirks,
    )
    assert patched["members"] == [{"value": "u-1"}]
    assert quirks.names == ["member_missing_type"]


def test_okta_full_membership_replace() -> None:
    patched = _patch(
        _group("u-1", "u-2"),
        {"op": "replace", "path": "members", "value": [{"value": "u-3", "display": "x"}]},
        rtype=GROUP,
    )
    assert patched["members"] == [{"value": "u-3"}]


def test_okta_remove_member_by_value_filter() -> None:
    patched = _patch(_group("u-1", "u-2"), {"op": "remove", "path": 'members[value eq "u-1"]'}, rtype=GROUP)
    assert patched["members"] == [{"value": "u-2", "type": "User"}]


# -- Entra default (§2.2) -------------------------------------------------------------------------


def test_entra_capitalised_multi_op_update() -> None:
    quirks = QuirkLog()
    user = _user(
        displayName="Old",
        emails=[{"primary": True, "type": "work", "value": "old@contoso.com"}],
        name={"givenName": "G", "familyName": "F", "formatted": "G F"},
    )
    patched = _patch(
        user,
        {"op": "Replace", "path": "displayName", "value": "Pvlo"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "updatedEmail@contoso.com"},
        {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
        {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
        {"op": "Replace", "path": "externalId", "value": "Eqpj"},
        {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Retail"},
        {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "Eqpj"},
        {"op": "Replace", "path": 'addresses[type eq "work"].formatted', "value": "18/2111"},
        quirks=quirks,
    )
    assert patched == {
        "schemas": [CORE_USER, ENTERPRISE],
        "userName": "bjensen",
        "name": {"givenName": "Gtfd", "familyName": "Pkqf", "formatted": "G F"},
        "displayName": "Pvlo",
        "emails": [{"primary": True, "type": "work", "value": "updatedEmail@contoso.com"}],
        "externalId": "Eqpj",
        ENTERPRISE: {"department": "Retail", "employeeNumber": "Eqpj"},
        "addresses": [{"type": "work", "formatted": "18/2111"}],
    }
    assert quirks.names == ["op_capitalised", "filtered_add_creates_value"]
    assert (Quirk.FILTERED_ADD_CREATES_VALUE, 'addresses[type eq "work"].formatted') in quirks.entries


def test_entra_add_single_value_string() -> None:
    assert _patch(_user(), {"op": "Add", "path": "nickName", "value": "Babs"})["nickName"] == "Babs"


def test_entra_set_manager_with_a_one_element_list() -> None:
    quirks = QuirkLog()
    patched = _patch(
        _user(),
        {"op": "Add", "path": "manager", "value": [{"$ref": "https://sp/scim/v2/Users/m-1", "value": "m-1"}]},
        quirks=quirks,
    )
    assert patched[ENTERPRISE] == {"manager": {"$ref": "https://sp/scim/v2/Users/m-1", "value": "m-1"}}
    assert patched["schemas"] == [CORE_USER, ENTERPRISE]
    assert (Quirk.LIST_FOR_SINGLE_VALUED, "manager") in quirks.entries


def test_entra_rename_user_name() -> None:
    patched = _patch(_user(), {"op": "Replace", "path": "userName", "value": "renamed_user@contoso.com"})
    assert patched["userName"] == "renamed_user@contoso.com"


@pytest.mark.parametrize(("raw", "expected"), [("False", False), ("True", True), ("false", False)])
def test_entra_string_booleans_set_active(raw: str, expected: bool) -> None:
    quirks = QuirkLog()
    patched = _patch(
        _user(active=not expected), {"op": "Replace", "path": "active", "value": raw}, quirks=quirks
    )
    assert patched["active"] is expected
    assert (Quirk.STRING_BOOLEAN, "active") in quirks.entries


def test_entra_group_add_member_with_null_ref_twice_is_idempotent() -> None:
    quirks = QuirkLog()
    op = {"op": "Add", "path": "members", "value": [{"$ref": None, "value": "u-1"}]}
    once = _patch(_group(), op, rtype=GROUP, quirks=quirks)
    twice = _patch(once, op, rtype=GROUP)
    assert once["members"] == twice["members"] == [{"value": "u-1"}]
    assert {"member_null_ref", "member_missing_type"} <= set(quirks.names)


def test_entra_legacy_member_removal_removes_only_the_listed_member() -> None:
    quirks = QuirkLog()
    patched = _patch(
        _group("u-1", "u-2", "u-3"),
        {"op": "Remove", "path": "members", "value": [{"value": "u-2"}]},
        rtype=GROUP,
        quirks=quirks,
    )
    assert [m["value"] for m in patched["members"]] == ["u-1", "u-3"]
    assert (Quirk.MEMBER_REMOVE_VALUE_LIST, "members") in quirks.entries


def test_entra_group_rename() -> None:
    patched = _patch(
        _group(), {"op": "Replace", "path": "displayName", "value": "Engineering-renamed"}, rtype=GROUP
    )
    assert patched["displayName"] == "Engineering-renamed"


# -- Entra with aadOptscim062020 (§2.3) and the validator edge cases ------------------------------


def test_entra_merged_pathless_replace_with_dotted_and_urn_keys() -> None:
    quirks = QuirkLog()
    user = _user(
        name={"givenName": "A", "familyName": "B"}, emails=[{"type": "work", "value": "a@contoso.com"}]
    )
    patched = _patch(
        user,
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "TestMhvaes@contoso.com"},
        {
            "op": "replace",
            "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                f"{ENTERPRISE}:employeeNumber": "Aklq",
            },
        },
        quirks=quirks,
    )
    assert patched["name"] == {"givenName": "Kkom", "familyName": "Unua"}
    assert patched["displayName"] == "Bjfe"
    assert patched["emails"] == [{"type": "work", "value": "TestMhvaes@contoso.com"}]
    assert patched[ENTERPRISE] == {"employeeNumber": "Aklq"}
    assert quirks.names == ["pathless_dotted_key", "pathless_urn_key"]


def test_entra_validator_adds_a_home_email_and_moves_primary_to_it() -> None:
    quirks = QuirkLog()
    user = _user(emails=[{"type": "work", "value": "work@example.us", "primary": True}])
    patched = _patch(
        user,
        {"op": "add", "path": 'emails[type eq "home"].value', "value": "angelita@example.us"},
        {"op": "replace", "path": 'emails[type eq "home"].primary', "value": True},
        {"op": "add", "path": 'emails[type eq "work"].primary', "value": False},
        quirks=quirks,
    )
    assert patched["emails"] == [
        {"type": "work", "value": "work@example.us", "primary": False},
        {"type": "home", "value": "angelita@example.us", "primary": True},
    ]
    assert Quirk.FILTERED_ADD_CREATES_VALUE.value in quirks.names


def test_setting_primary_on_one_value_clears_it_on_the_others() -> None:
    user = _user(emails=[{"type": "work", "value": "w@x", "primary": True}, {"type": "home", "value": "h@x"}])
    patched = _patch(user, {"op": "replace", "path": 'emails[type eq "home"].primary', "value": True})
    assert [e.get("primary") for e in patched["emails"]] == [False, True]


def test_adding_a_new_primary_value_clears_primary_on_the_existing_one() -> None:
    user = _user(emails=[{"type": "work", "value": "w@x", "primary": True}])
    patched = _patch(
        user, {"op": "add", "path": "emails", "value": [{"value": "n@x", "type": "other", "primary": True}]}
    )
    assert [e["primary"] for e in patched["emails"]] == [False, True]


def test_entra_remove_manager_by_value_filter_on_a_single_valued_attribute() -> None:
    quirks = QuirkLog()
    user = _user(**{ENTERPRISE: {"department": "R&D", "manager": {"value": "m-1"}}})
    patched = _patch(user, {"op": "remove", "path": 'manager[value eq "m-1"]'}, quirks=quirks)
    assert patched[ENTERPRISE] == {"department": "R&D"}
    assert (Quirk.VALUE_FILTER_ON_SINGLE_VALUED, 'manager[value eq "m-1"]') in quirks.entries


def test_removing_a_manager_that_does_not_match_changes_nothing() -> None:
    user = _user(**{ENTERPRISE: {"manager": {"value": "m-1"}}})
    assert _patch(user, {"op": "remove", "path": 'manager[value eq "m-2"]'}) == user


def test_removing_the_only_extension_attribute_drops_the_extension_urn() -> None:
    user = _user(**{ENTERPRISE: {"manager": {"value": "m-1"}}})
    patched = _patch(user, {"op": "remove", "path": f'{ENTERPRISE}:manager[value eq "m-1"]'})
    assert ENTERPRISE not in patched and patched["schemas"] == [CORE_USER]


# -- JumpCloud (§2.5) and authentik (§2.6) --------------------------------------------------------


def test_jumpcloud_one_op_per_attribute_update() -> None:
    user = _user(name={"givenName": "John", "familyName": "Smith"}, displayName="John Smith")
    patched = _patch(
        user,
        {"op": "replace", "path": "name.givenName", "value": "Johnny"},
        {"op": "replace", "path": "name.familyName", "value": "Smith"},
        {"op": "replace", "path": "displayName", "value": "Johnny Smith"},
    )
    assert patched["name"] == {"givenName": "Johnny", "familyName": "Smith"}
    assert patched["displayName"] == "Johnny Smith"


def test_jumpcloud_minimal_member_add_and_value_list_removal() -> None:
    added = _patch(_group("u-0"), {"op": "add", "path": "members", "value": [{"value": "u-1"}]}, rtype=GROUP)
    assert [m["value"] for m in added["members"]] == ["u-0", "u-1"]
    removed = _patch(added, {"op": "remove", "path": "members", "value": [{"value": "u-1"}]}, rtype=GROUP)
    assert removed["members"] == [{"value": "u-0", "type": "User"}]


def test_removing_a_member_that_is_not_there_is_a_no_op() -> None:
    group = _group("u-1")
    assert (
        _patch(group, {"op": "remove", "path": "members", "value": [{"value": "nobody"}]}, rtype=GROUP)
        == group
    )
    assert _patch(group, {"op": "remove", "path": 'members[value eq "nobody"]'}, rtype=GROUP) == group


def test_authentik_pathless_multi_attribute_group_patch() -> None:
    patched = _patch(
        _group(),
        {"op": "replace", "value": {"displayName": "Engineering", "externalId": "ak-group-uuid"}},
        rtype=GROUP,
    )
    assert patched == {"schemas": [CORE_GROUP], "displayName": "Engineering", "externalId": "ak-group-uuid"}


# -- RFC 7644 §3.5.2 examples ---------------------------------------------------------------------

BABS = "2819c223-7f76-453a-919d-413861904646"
JAMES = "08e1d05d-121c-4561-8b96-473d93df9210"


def test_rfc_add_member() -> None:
    patched = _patch(
        _group(),
        {
            "op": "add",
            "path": "members",
            "value": [
                {"display": "Babs Jensen", "$ref": f"https://example.com/v2/Users/{BABS}", "value": BABS}
            ],
        },
        rtype=GROUP,
    )
    assert patched["members"] == [{"$ref": f"https://example.com/v2/Users/{BABS}", "value": BABS}]


def test_rfc_pathless_add_of_emails_and_nickname() -> None:
    user = _user(emails=[{"value": "bjensen@example.com", "type": "work"}])
    patched = _patch(
        user,
        {
            "op": "add",
            "value": {"emails": [{"value": "babs@jensen.org", "type": "home"}], "nickname": "Babs"},
        },
    )
    assert patched["emails"] == [
        {"value": "bjensen@example.com", "type": "work"},
        {"value": "babs@jensen.org", "type": "home"},
    ]
    assert patched["nickName"] == "Babs"


def test_rfc_remove_one_member_and_remove_all_members() -> None:
    group = _group(BABS, JAMES)
    assert _patch(group, {"op": "remove", "path": f'members[value eq "{BABS}"]'}, rtype=GROUP)["members"] == [
        {"value": JAMES, "type": "User"}
    ]
    assert "members" not in _patch(group, {"op": "remove", "path": "members"}, rtype=GROUP)


def test_rfc_remove_by_compound_filter() -> None:
    user = _user(
        emails=[
            {"value": "b@example.com", "type": "work"},
            {"value": "b@other.org", "type": "work"},
            {"value": "b@example.com.home", "type": "home"},
        ]
    )
    patched = _patch(user, {"op": "remove", "path": 'emails[type eq "work" and value ew "example.com"]'})
    assert [e["value"] for e in patched["emails"]] == ["b@other.org", "b@example.com.home"]


def test_rfc_remove_and_add_members_in_one_request() -> None:
    patched = _patch(
        _group(BABS),
        {"op": "remove", "path": f'members[value eq "{BABS}"]'},
        {"op": "add", "path": "members", "value": [{"display": "James Smith", "value": JAMES}]},
        rtype=GROUP,
    )
    assert patched["members"] == [{"value": JAMES}]


def test_rfc_replace_all_members() -> None:
    patched = _patch(
        _group("old-1"),
        {"op": "replace", "path": "members", "value": [{"value": BABS, "type": "User"}, {"value": JAMES}]},
        rtype=GROUP,
    )
    assert patched["members"] == [{"value": BABS, "type": "User"}, {"value": JAMES}]


def test_rfc_replace_the_work_address_element() -> None:
    user = _user(addresses=[{"type": "work", "streetAddress": "old"}, {"type": "home", "locality": "Here"}])
    new_work = {
        "type": "work",
        "streetAddress": "911 Universal City Plaza",
        "locality": "Hollywood",
        "region": "CA",
        "postalCode": "91608",
        "country": "US",
        "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
        "primary": True,
    }
    patched = _patch(user, {"op": "replace", "path": 'addresses[type eq "work"]', "value": new_work})
    assert patched["addresses"] == [new_work, {"type": "home", "locality": "Here"}]


def test_rfc_replace_a_sub_attribute_of_the_work_address() -> None:
    user = _user(addresses=[{"type": "work", "streetAddress": "old", "locality": "Hollywood"}])
    patched = _patch(
        user,
        {"op": "replace", "path": 'addresses[type eq "work"].streetAddress', "value": "1010 Broadway Ave"},
    )
    assert patched["addresses"] == [
        {"type": "work", "streetAddress": "1010 Broadway Ave", "locality": "Hollywood"}
    ]


def test_rfc_pathless_replace_of_emails_and_nickname() -> None:
    user = _user(emails=[{"value": "old@example.com"}], nickName="Bab")
    new_emails = [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ]
    patched = _patch(user, {"op": "replace", "value": {"emails": new_emails, "nickname": "Babs"}})
    assert patched["emails"] == new_emails and patched["nickName"] == "Babs"


# -- add / replace / remove semantics -------------------------------------------------------------


def test_add_to_a_single_valued_attribute_replaces_it() -> None:
    assert _patch(_user(title="Old"), {"op": "add", "path": "title", "value": "New"})["title"] == "New"


def test_add_and_replace_merge_into_a_complex_attribute() -> None:
    user = _user(name={"givenName": "B", "familyName": "J"})
    assert _patch(user, {"op": "add", "path": "name", "value": {"middleName": "M"}})["name"] == {
        "givenName": "B",
        "familyName": "J",
        "middleName": "M",
    }
    assert _patch(user, {"op": "replace", "path": "name", "value": {"givenName": "X"}})["name"] == {
        "givenName": "X",
        "familyName": "J",
    }


def test_adding_an_email_already_present_changes_nothing() -> None:
    user = _user(emails=[{"value": "B@Example.com", "type": "work"}])
    assert (
        _patch(user, {"op": "add", "path": "emails", "value": [{"value": "b@example.com", "type": "work"}]})
        == user
    )


def test_replace_of_an_unassigned_attribute_acts_as_add() -> None:
    assert _patch(_user(), {"op": "replace", "path": "name.givenName", "value": "B"})["name"] == {
        "givenName": "B"
    }


def test_replace_with_an_empty_string_or_empty_list_unassigns() -> None:
    quirks = QuirkLog()
    user = _user(title="x", emails=[{"value": "a@b"}])
    patched = _patch(
        user,
        {"op": "replace", "path": "title", "value": ""},
        {"op": "replace", "path": "emails", "value": []},
        quirks=quirks,
    )
    assert "title" not in patched and "emails" not in patched
    assert quirks.names == ["empty_string_clears"]


def test_remove_a_single_valued_attribute_and_an_absent_one() -> None:
    user = _user(title="x")
    assert "title" not in _patch(user, {"op": "remove", "path": "title"})
    assert _patch(user, {"op": "remove", "path": "nickName"}) == user


def test_remove_a_multi_valued_attribute_without_filter_removes_all_values() -> None:
    assert "emails" not in _patch(
        _user(emails=[{"value": "a@x"}, {"value": "b@x"}]), {"op": "remove", "path": "emails"}
    )


def test_remove_the_last_matching_value_unassigns_the_attribute() -> None:
    user = _user(phoneNumbers=[{"type": "work", "value": "1"}])
    assert "phoneNumbers" not in _patch(user, {"op": "remove", "path": 'phoneNumbers[type eq "work"]'})


def test_remove_a_sub_attribute_of_matching_values() -> None:
    user = _user(
        emails=[
            {"type": "work", "value": "w@x", "display": "W"},
            {"type": "home", "value": "h@x", "display": "H"},
        ]
    )
    patched = _patch(user, {"op": "remove", "path": 'emails[type eq "work"].display'})
    assert patched["emails"] == [
        {"type": "work", "value": "w@x"},
        {"type": "home", "value": "h@x", "display": "H"},
    ]


def test_remove_a_sub_attribute_of_a_complex_attribute() -> None:
    user = _user(name={"givenName": "B", "familyName": "J"})
    assert _patch(user, {"op": "remove", "path": "name.givenName"})["name"] == {"familyName": "J"}
    assert "name" not in _patch(
        user, {"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "name.familyName"}
    )


def test_filtered_add_creates_a_typed_phone_number_with_the_quirk() -> None:
    quirks = QuirkLog()
    patched = _patch(
        _user(),
        {"op": "add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555"},
        quirks=quirks,
    )
    assert patched["phoneNumbers"] == [{"type": "mobile", "value": "+1 555"}]
    assert quirks.entries == [(Quirk.FILTERED_ADD_CREATES_VALUE, 'phoneNumbers[type eq "mobile"].value')]


def test_filtered_replace_with_an_and_of_equalities_creates_the_described_value() -> None:
    patched = _patch(
        _user(), {"op": "replace", "path": 'emails[type eq "work" and primary eq true].value', "value": "a@x"}
    )
    assert patched["emails"] == [{"type": "work", "primary": True, "value": "a@x"}]


@pytest.mark.parametrize("op", ["add", "replace"])
def test_filtered_write_without_a_match_on_a_non_type_filter_is_no_target(op: str) -> None:
    user = _user(emails=[{"type": "work", "value": "a@x"}])
    error = _error(user, {"op": op, "path": 'emails[value eq "nope@x"].type', "value": "home"})
    assert (error.status, error.scim_type) == (400, "noTarget")


def test_filtered_replace_on_a_single_valued_complex_attribute_without_a_match_is_no_target() -> None:
    user = _user(**{ENTERPRISE: {"manager": {"value": "m-1"}}})
    assert (
        _error(user, {"op": "replace", "path": 'manager[value eq "x"].value', "value": "y"}).scim_type
        == "noTarget"
    )


def test_pathless_value_with_the_extension_urn_as_key_merges_into_the_extension() -> None:
    user = _user(**{ENTERPRISE: {"department": "R&D"}})
    patched = _patch(
        user, {"op": "add", "value": {ENTERPRISE: {"costCenter": "42", "manager": {"value": "m"}}}}
    )
    assert patched[ENTERPRISE] == {"department": "R&D", "costCenter": "42", "manager": {"value": "m"}}


def test_pathless_value_with_a_non_rfc_extension_urn_is_mapped_and_recorded() -> None:
    quirks = QuirkLog()
    patched = _patch(
        _user(),
        {"op": "add", "value": {"urn:scim:schemas:extension:enterprise:2.0": {"division": "D"}}},
        quirks=quirks,
    )
    assert patched[ENTERPRISE] == {"division": "D"}
    assert quirks.names == ["nonstandard_schema_urn"]


def test_a_path_naming_the_whole_extension_adds_to_it_and_removes_it() -> None:
    user = _user(**{ENTERPRISE: {"department": "R&D"}})
    added = _patch(user, {"op": "add", "path": ENTERPRISE, "value": {"division": "D"}})
    assert added[ENTERPRISE] == {"department": "R&D", "division": "D"}
    removed = _patch(added, {"op": "remove", "path": ENTERPRISE})
    assert ENTERPRISE not in removed and removed["schemas"] == [CORE_USER]


def test_pathless_read_only_keys_are_ignored() -> None:
    user = _user()
    patched = _patch(
        user,
        {
            "op": "replace",
            "value": {"schemas": [CORE_USER], "meta": {"version": "x"}, "groups": [], "title": "T"},
        },
    )
    assert patched == {**user, "title": "T"}


def test_an_unqualified_extension_attribute_path_is_accepted() -> None:
    assert _patch(_user(), {"op": "replace", "path": "employeeNumber", "value": "7"})[ENTERPRISE] == {
        "employeeNumber": "7"
    }


def test_core_paths_may_carry_the_core_urn() -> None:
    assert _patch(_user(), {"op": "replace", "path": f"{CORE_USER}:name.givenName", "value": "B"})[
        "name"
    ] == {"givenName": "B"}


def test_extension_sub_attribute_path() -> None:
    patched = _patch(_user(), {"op": "add", "path": f"{ENTERPRISE}:manager.value", "value": "m-9"})
    assert patched[ENTERPRISE] == {"manager": {"value": "m-9"}}


def test_paths_and_value_keys_are_case_insensitive() -> None:
    patched = _patch(
        _user(), {"op": "add", "path": "NAME.GIVENNAME", "value": "B"}, {"op": "add", "value": {"TITLE": "T"}}
    )
    assert patched["name"] == {"givenName": "B"} and patched["title"] == "T"


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "nope", "value": "x"},
        {"op": "replace", "path": "userName.first", "value": "x"},
        {"op": "replace", "path": "name.nope", "value": "x"},
        {"op": "remove", "path": 'userName[value eq "x"]'},
        {"op": "add", "value": {"nope": "x"}},
        {"op": "add", "value": {"name.nope": "x"}},
    ],
)
def test_unknown_attributes_and_bad_sub_attribute_paths_are_invalid_path(operation: dict[str, Any]) -> None:
    error = _error(_user(), operation)
    assert (error.status, error.scim_type) == (400, "invalidPath")


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "id", "value": "x"},
        {"op": "remove", "path": "meta"},
        {"op": "replace", "path": "meta.lastModified", "value": "2020-01-01T00:00:00Z"},
        {"op": "add", "path": "groups", "value": [{"value": "g"}]},
        {"op": "replace", "path": f"{ENTERPRISE}:manager.displayName", "value": "Boss"},
    ],
)
def test_read_only_targets_are_mutability_errors(operation: dict[str, Any]) -> None:
    error = _error(_user(), operation)
    assert (error.status, error.scim_type) == (400, "mutability")


def test_removing_a_required_attribute_is_a_mutability_error() -> None:
    assert _error(_user(), {"op": "remove", "path": "userName"}).scim_type == "mutability"
    assert _error(_group(), {"op": "remove", "path": "displayName"}, rtype=GROUP).scim_type == "mutability"


def test_emptying_a_required_attribute_is_invalid_value() -> None:
    assert _error(_user(), {"op": "replace", "path": "userName", "value": ""}).scim_type == "invalidValue"


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "active", "value": 5},
        {"op": "replace", "path": "active", "value": "maybe"},
        {"op": "replace", "path": "userName", "value": 42},
        {"op": "replace", "path": "name", "value": "Barbara"},
        {"op": "add", "path": "manager", "value": [{"value": "a"}, {"value": "b"}]},
        {"op": "replace", "path": 'emails[type eq "work"]', "value": [{"value": "a@x"}, {"value": "b@x"}]},
        {"op": "replace", "value": "not an object"},
    ],
)
def test_wrong_value_types_are_invalid_value(operation: dict[str, Any]) -> None:
    error = _error(_user(emails=[{"type": "work", "value": "w@x"}]), operation)
    assert (error.status, error.scim_type) == (400, "invalidValue")


def test_changing_an_immutable_member_value_is_a_mutability_error() -> None:
    error = _error(
        _group("u-1"), {"op": "replace", "path": 'members[value eq "u-1"].value', "value": "u-2"}, rtype=GROUP
    )
    assert error.scim_type == "mutability"


def test_member_display_is_read_only() -> None:
    error = _error(
        _group("u-1"), {"op": "replace", "path": 'members[value eq "u-1"].display', "value": "x"}, rtype=GROUP
    )
    assert error.scim_type == "mutability"


def test_a_failing_operation_applies_nothing_and_leaves_the_input_alone() -> None:
    user = _user(title="Old")
    before = copy.deepcopy(user)
    error = _error(
        user,
        {"op": "replace", "path": "title", "value": "New"},
        {"op": "replace", "path": "nope", "value": 1},
    )
    assert error.scim_type == "invalidPath"
    assert user == before


# -- Group membership for the service -------------------------------------------------------------


def _split(
    *operations: dict[str, Any], quirks: QuirkLog | None = None
) -> tuple[list[PatchOperation], list[MemberChange]]:
    log = quirks if quirks is not None else QuirkLog()
    return split_member_operations(parse_patch_request(_body(*operations), log), log)


def test_member_add_becomes_an_add_change_with_canonical_member_refs() -> None:
    remaining, changes = _split(
        {
            "op": "add",
            "path": "members",
            "value": [{"value": "u-1", "display": "x", "$ref": None}, {"value": "g-1", "type": "group"}],
        }
    )
    assert remaining == []
    assert changes == [
        MemberChange(kind="add", members=({"value": "u-1"}, {"value": "g-1", "type": "Group"}))
    ]


def test_member_remove_by_filter_becomes_remove_where() -> None:
    _, changes = _split({"op": "remove", "path": 'members[value eq "u-1"]'})
    assert changes == [
        MemberChange(kind="remove_where", where=Comparison(AttrPath(None, "value"), "eq", "u-1"))
    ]


def test_member_remove_with_a_value_list_removes_only_those() -> None:
    quirks = QuirkLog()
    _, changes = _split({"op": "Remove", "path": "members", "value": [{"value": "u-1"}]}, quirks=quirks)
    assert changes == [MemberChange(kind="remove", members=({"value": "u-1"},))]
    assert (Quirk.MEMBER_REMOVE_VALUE_LIST, "members") in quirks.entries


def test_member_remove_with_an_empty_list_changes_nothing() -> None:
    assert _split({"op": "remove", "path": "members", "value": []}) == ([], [])


def test_member_remove_without_value_removes_all() -> None:
    assert _split({"op": "remove", "path": "members"})[1] == [MemberChange(kind="remove_all")]


def test_member_replace_becomes_replace_and_an_empty_list_replaces_with_nobody() -> None:
    assert _split({"op": "replace", "path": "members", "value": [{"value": "u-1"}]})[1] == [
        MemberChange(kind="replace", members=({"value": "u-1"},))
    ]
    assert _split({"op": "replace", "path": "members", "value": []})[1] == [MemberChange(kind="replace")]


def test_pathless_members_key_is_split_from_the_other_attributes() -> None:
    remaining, changes = _split(
        {"op": "replace", "value": {"id": "g-1", "displayName": "Eng"}},
        {"op": "add", "value": {"displayName": "Eng2", "Members": [{"value": "u-1"}]}},
        {"op": "add", "value": {"members": [{"value": "u-2"}]}},
    )
    assert [op.value for op in remaining] == [{"id": "g-1", "displayName": "Eng"}, {"displayName": "Eng2"}]
    assert changes == [
        MemberChange(kind="add", members=({"value": "u-1"},)),
        MemberChange(kind="add", members=({"value": "u-2"},)),
    ]


def test_okta_rename_then_add_member_splits_into_one_attribute_op_and_one_change() -> None:
    remaining, changes = _split(
        {"op": "replace", "value": {"id": "g-1", "displayName": "Test SCIMv2"}},
        {"op": "add", "path": "members", "value": [{"value": "u-1", "display": "test.user@okta.local"}]},
        {"op": "remove", "path": f'{CORE_GROUP}:members[value eq "u-2"]'},
    )
    assert len(remaining) == 1 and remaining[0].path is None
    assert [c.kind for c in changes] == ["add", "remove_where"]
    applied = apply_patch(_group(), remaining, GROUP, QuirkLog())
    assert applied == {"schemas": [CORE_GROUP], "displayName": "Test SCIMv2"}


def test_non_member_operations_keep_their_order() -> None:
    remaining, _ = _split(
        {"op": "replace", "path": "displayName", "value": "A"},
        {"op": "add", "path": "members", "value": [{"value": "u-1"}]},
        {"op": "replace", "path": "externalId", "value": "B"},
    )
    assert [op.raw_path for op in remaining] == ["displayName", "externalId"]


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": 'members[value eq "u-1"].value', "value": "u-2"},
        {"op": "replace", "path": 'members[value eq "u-1"]', "value": {"value": "u-2"}},
        {"op": "remove", "path": "members.type"},
    ],
)
def test_member_sub_attribute_writes_are_mutability_errors(operation: dict[str, Any]) -> None:
    with pytest.raises(ScimError) as raised:
        _split(operation)
    assert raised.value.scim_type == "mutability"


def test_a_member_without_a_value_is_invalid_value() -> None:
    with pytest.raises(ScimError) as raised:
        _split({"op": "add", "path": "members", "value": [{"display": "x"}]})
    assert raised.value.scim_type == "invalidValue"
