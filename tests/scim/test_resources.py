from __future__ import annotations

import copy
from typing import Any

import pytest

from scim.errors import ScimError
from scim.filter import AttrPath, parse_attr_path
from scim.quirks import Quirk, QuirkLog
from scim.resources import (
    UNASSIGNED,
    check_immutable,
    coerce_value,
    merge_for_replace,
    parse_resource,
    project,
)
from scim.schema import ENTERPRISE_USER_SCHEMA, GROUP, GROUP_SCHEMA, USER, USER_SCHEMA, Attribute, Schema

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _error(fn: Any, *args: Any, **kwargs: Any) -> ScimError:
    with pytest.raises(ScimError) as raised:
        fn(*args, **kwargs)
    return raised.value


def _attribute(schema: Schema, name: str) -> Attribute:
    attribute = schema.attr(name)
    assert attribute is not None
    return attribute


def _parse_user(body: dict[str, Any], quirks: QuirkLog | None = None) -> dict[str, Any]:
    return parse_resource(body, USER, quirks if quirks is not None else QuirkLog())


# -- replayed POST/PUT bodies (idp-quirks.md §2) ----------------------------------------------------


def test_okta_create_user_body_becomes_the_canonical_resource() -> None:
    body = {
        "schemas": [CORE_USER],
        "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": True,
    }
    quirks = QuirkLog()
    resource = _parse_user(body, quirks)
    assert resource == {
        "schemas": [CORE_USER],
        "externalId": "00ujl29u0le5T6Aj10h7",
        "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"},
        "displayName": "Test User",
        "locale": "en-US",
        "active": True,
        "password": "1mz050nq",
        "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
    }
    assert quirks.names == [Quirk.MEMBERS_IN_USER_BODY_IGNORED.value]


def test_okta_put_body_drops_id_meta_and_groups_but_keeps_the_email_display() -> None:
    body = {
        "schemas": [CORE_USER],
        "id": "u-1",
        "userName": "test.user@okta.local",
        "name": {"givenName": "Another", "middleName": "Excited", "familyName": "User"},
        "emails": [
            {
                "primary": True,
                "value": "test.user@okta.local",
                "type": "work",
                "display": "test.user@okta.local",
            }
        ],
        "active": True,
        "groups": [],
        "meta": {"resourceType": "User"},
    }
    resource = _parse_user(body)
    assert "id" not in resource and "meta" not in resource and "groups" not in resource
    # emails.display is readWrite in RFC 7643 §8.7.1 (only its description says READ-ONLY)
    assert resource["emails"][0]["display"] == "test.user@okta.local"


def test_entra_create_user_with_enterprise_schema_and_empty_roles() -> None:
    body = {
        "schemas": [CORE_USER, ENTERPRISE],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa@contoso.com",
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": "Test_User_00aa00aa@contoso.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
    }
    resource = _parse_user(body)
    assert resource["schemas"] == [CORE_USER]  # no extension data, so no extension URN
    assert "roles" not in resource and "meta" not in resource
    assert resource["name"]["formatted"] == "givenName familyName"


def test_entra_older_sample_nulls_are_unassigned_and_recorded() -> None:
    quirks = QuirkLog()
    resource = _parse_user(
        {
            "schemas": [CORE_USER],
            "userName": "a@contoso.com",
            "addresses": None,
            "title": None,
            "manager": None,
        },
        quirks,
    )
    assert resource == {"schemas": [CORE_USER], "userName": "a@contoso.com"}
    assert (Quirk.NULL_ATTRIBUTE, "title") in quirks.entries


def test_entra_validator_post_with_string_active_becomes_a_boolean() -> None:
    quirks = QuirkLog()
    resource = _parse_user({"schemas": [CORE_USER], "userName": "emp1@contoso.com", "active": "True"}, quirks)
    assert resource["active"] is True
    assert quirks.names == ["string_boolean"]


def test_entra_group_create_ignores_the_microsoft_schema_urn_with_a_quirk() -> None:
    ms_urn = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
    quirks = QuirkLog()
    resource = parse_resource(
        {
            "schemas": [CORE_GROUP, ms_urn],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "Engineering",
            "meta": {"resourceType": "Group"},
        },
        GROUP,
        quirks,
    )
    assert resource == {
        "schemas": [CORE_GROUP],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "Engineering",
    }
    assert quirks.entries == [(Quirk.NONSTANDARD_SCHEMA_URN, ms_urn)]


def test_entra_typo_enterprise_urn_in_schemas_is_accepted() -> None:
    quirks = QuirkLog()
    resource = _parse_user(
        {
            "schemas": [CORE_USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
            "userName": "a@contoso.com",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0User": {"department": "Sales"},
        },
        quirks,
    )
    assert resource[ENTERPRISE] == {"department": "Sales"}
    assert resource["schemas"] == [CORE_USER, ENTERPRISE]
    assert quirks.names == ["nonstandard_schema_urn"]


def test_onelogin_template_with_old_urns_empty_strings_and_manager_id() -> None:
    body = {
        "schemas": ["urn:scim:schemas:core:2.0", "urn:scim:schemas:extension:enterprise:2.0"],
        "userName": "jdoe@example.com",
        "name": {"familyName": "Doe", "givenName": "Jane", "formatted": "Jane Doe"},
        "emails": [{"value": "jdoe@example.com", "type": "work", "primary": True}],
        "title": "",
        "urn:scim:schemas:extension:enterprise:2.0": {
            "department": "",
            "manager": {"managerId": "", "displayName": " "},
        },
        "active": "true",
        "id": None,
        "meta": {"resourceType": "User"},
    }
    quirks = QuirkLog()
    resource = _parse_user(body, quirks)
    assert resource == {
        "schemas": [CORE_USER],
        "userName": "jdoe@example.com",
        "name": {"familyName": "Doe", "givenName": "Jane", "formatted": "Jane Doe"},
        "active": True,
        "emails": [{"value": "jdoe@example.com", "type": "work", "primary": True}],
    }
    assert set(quirks.names) == {
        "nonstandard_schema_urn",
        "empty_string_clears",
        "manager_id_key",
        "string_boolean",
    }


def test_onelogin_put_with_department_and_manager_id_maps_to_the_rfc_extension() -> None:
    body = {
        "schemas": ["urn:scim:schemas:core:2.0", "urn:scim:schemas:extension:enterprise:2.0"],
        "userName": "jdoe@example.com",
        "title": "Engineer",
        "urn:scim:schemas:extension:enterprise:2.0": {
            "department": "R&D",
            "manager": {"managerId": "m-42", "displayName": " "},
        },
        "active": "false",
    }
    resource = _parse_user(body)
    assert resource[ENTERPRISE] == {"department": "R&D", "manager": {"value": "m-42"}}
    assert resource["schemas"] == [CORE_USER, ENTERPRISE]
    assert resource["active"] is False


def test_onelogin_v1_single_email_object_is_wrapped_in_a_list() -> None:
    quirks = QuirkLog()
    resource = _parse_user({"userName": "a", "emails": {"value": "a@example.com", "type": "work"}}, quirks)
    assert resource["emails"] == [{"value": "a@example.com", "type": "work"}]
    assert quirks.entries == [(Quirk.SINGLE_OBJECT_FOR_MULTI_VALUED, "emails")]


def test_okta_group_push_create_with_empty_members() -> None:
    resource = parse_resource(
        {"schemas": [CORE_GROUP], "displayName": "Test SCIMv2", "members": []}, GROUP, QuirkLog()
    )
    assert resource == {"schemas": [CORE_GROUP], "displayName": "Test SCIMv2"}


def test_okta_aiw_group_put_members_without_type_keep_display_out_and_record_the_quirk() -> None:
    quirks = QuirkLog()
    resource = parse_resource(
        {
            "schemas": [CORE_GROUP],
            "id": "g-1",
            "displayName": "Test SCIMv2",
            "members": [{"value": "u-1", "display": "test.user@okta.local"}],
        },
        GROUP,
        quirks,
    )
    assert resource["members"] == [{"value": "u-1"}]
    assert quirks.names == ["member_missing_type"]


def test_entra_members_with_null_ref_drop_the_key() -> None:
    quirks = QuirkLog()
    resource = parse_resource(
        {"displayName": "Eng", "members": [{"$ref": None, "value": "u-1", "type": "user"}]}, GROUP, quirks
    )
    assert resource["members"] == [{"value": "u-1", "type": "User"}]
    assert quirks.names == ["member_null_ref"]


# -- structure and required attributes ------------------------------------------------------------


@pytest.mark.parametrize("body", [[], "userName", 42, None])
def test_a_body_that_is_not_an_object_is_invalid_syntax(body: Any) -> None:
    error = _error(parse_resource, body, USER, QuirkLog())
    assert (error.status, error.scim_type) == (400, "invalidSyntax")


@pytest.mark.parametrize("schemas", [CORE_USER, {"urn": CORE_USER}, [CORE_USER, 7]])
def test_schemas_that_are_not_a_list_of_strings_are_invalid_syntax(schemas: Any) -> None:
    error = _error(parse_resource, {"schemas": schemas, "userName": "a"}, USER, QuirkLog())
    assert error.scim_type == "invalidSyntax"


def test_missing_schemas_are_accepted_and_rebuilt() -> None:
    assert _parse_user({"userName": "a"})["schemas"] == [CORE_USER]


def test_a_group_body_posted_to_users_is_invalid_syntax() -> None:
    error = _error(parse_resource, {"schemas": [CORE_GROUP], "userName": "a"}, USER, QuirkLog())
    assert error.scim_type == "invalidSyntax"


def test_missing_user_name_is_invalid_value_naming_the_attribute() -> None:
    error = _error(parse_resource, {"schemas": [CORE_USER], "displayName": "x"}, USER, QuirkLog())
    assert (error.status, error.scim_type) == (400, "invalidValue")
    assert "userName" in error.detail


def test_empty_user_name_counts_as_missing() -> None:
    assert "userName" in _error(parse_resource, {"userName": ""}, USER, QuirkLog()).detail


def test_missing_group_display_name_is_invalid_value() -> None:
    error = _error(parse_resource, {"schemas": [CORE_GROUP], "members": []}, GROUP, QuirkLog())
    assert error.scim_type == "invalidValue" and "displayName" in error.detail


def test_attribute_names_in_the_body_are_case_insensitive() -> None:
    resource = _parse_user({"USERNAME": "a", "Name": {"GivenName": "B"}, "EMAILS": [{"VALUE": "a@b.c"}]})
    assert resource == {
        "schemas": [CORE_USER],
        "userName": "a",
        "name": {"givenName": "B"},
        "emails": [{"value": "a@b.c"}],
    }


def test_unknown_top_level_and_sub_attributes_are_ignored() -> None:
    resource = _parse_user(
        {"userName": "a", "favouriteColour": "blue", "name": {"givenName": "B", "nick": "x"}}
    )
    assert resource == {"schemas": [CORE_USER], "userName": "a", "name": {"givenName": "B"}}


def test_extension_under_its_rfc_urn_is_kept_and_listed_in_schemas() -> None:
    resource = _parse_user({"userName": "a", ENTERPRISE: {"employeeNumber": "7", "MANAGER": {"value": "m"}}})
    assert resource[ENTERPRISE] == {"employeeNumber": "7", "manager": {"value": "m"}}
    assert resource["schemas"] == [CORE_USER, ENTERPRISE]


def test_manager_display_name_is_read_only_and_dropped() -> None:
    resource = _parse_user({"userName": "a", ENTERPRISE: {"manager": {"value": "m", "displayName": "Boss"}}})
    assert resource[ENTERPRISE]["manager"] == {"value": "m"}


def test_entra_manager_as_a_one_element_list_is_unwrapped() -> None:
    quirks = QuirkLog()
    resource = _parse_user(
        {"userName": "a", ENTERPRISE: {"manager": [{"value": "m", "$ref": "../Users/m"}]}}, quirks
    )
    assert resource[ENTERPRISE]["manager"] == {"value": "m", "$ref": "../Users/m"}
    assert quirks.entries == [(Quirk.LIST_FOR_SINGLE_VALUED, "manager")]


def test_a_list_of_several_values_for_a_single_valued_attribute_is_invalid_value() -> None:
    body = {"userName": "a", ENTERPRISE: {"manager": [{"value": "m"}, {"value": "n"}]}}
    assert _error(parse_resource, body, USER, QuirkLog()).scim_type == "invalidValue"


def test_several_primary_values_keep_the_last_one() -> None:
    quirks = QuirkLog()
    resource = _parse_user(
        {
            "userName": "a",
            "emails": [
                {"value": "a@x.com", "primary": True},
                {"value": "b@x.com", "primary": True},
                {"value": "c@x.com"},
            ],
        },
        quirks,
    )
    assert [e.get("primary") for e in resource["emails"]] == [False, True, None]
    assert quirks.entries == [(Quirk.PRIMARY_CONFLICT, "emails")]


def test_group_member_without_value_is_invalid_value() -> None:
    error = _error(parse_resource, {"displayName": "g", "members": [{"type": "User"}]}, GROUP, QuirkLog())
    assert error.scim_type == "invalidValue"


def test_group_member_with_an_unknown_type_is_invalid_value() -> None:
    body = {"displayName": "g", "members": [{"value": "x", "type": "Device"}]}
    assert _error(parse_resource, body, GROUP, QuirkLog()).scim_type == "invalidValue"


def test_password_is_kept_for_the_service_to_hash() -> None:
    assert _parse_user({"userName": "a", "password": "s3cret"})["password"] == "s3cret"


def test_type_errors_never_echo_the_value() -> None:
    error = _error(parse_resource, {"userName": "a", "password": 123456}, USER, QuirkLog())
    assert error.scim_type == "invalidValue" and "123456" not in error.detail and "password" in error.detail


def test_non_object_extension_is_invalid_value() -> None:
    assert (
        _error(parse_resource, {"userName": "a", ENTERPRISE: "x"}, USER, QuirkLog()).scim_type
        == "invalidValue"
    )


# -- coerce_value ---------------------------------------------------------------------------------

ACTIVE = _attribute(USER_SCHEMA, "active")
USER_NAME = _attribute(USER_SCHEMA, "userName")
X509 = _attribute(USER_SCHEMA, "x509Certificates")
INTEGER = Attribute("count", type="integer")
DECIMAL = Attribute("ratio", type="decimal")
DATETIME = Attribute("when", type="dateTime")


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("False", False), ("TRUE", True), (True, True)]
)
def test_booleans_accept_true_and_false_strings_in_any_case(raw: Any, expected: bool) -> None:
    quirks = QuirkLog()
    assert coerce_value(ACTIVE, raw, quirks) is expected
    assert bool(quirks) is isinstance(raw, str)


@pytest.mark.parametrize("raw", ["yes", 1, 0, {"a": 1}, "T"])
def test_other_boolean_values_are_invalid_value(raw: Any) -> None:
    assert _error(coerce_value, ACTIVE, raw, QuirkLog()).scim_type == "invalidValue"


@pytest.mark.parametrize("raw", [1, True, 1.5, {"a": "b"}, ["a", "b"]])
def test_strings_must_be_strings(raw: Any) -> None:
    assert _error(coerce_value, USER_NAME, raw, QuirkLog()).scim_type == "invalidValue"


@pytest.mark.parametrize(("raw", "ok"), [(3, True), (-2, True), (3.5, False), (True, False), ("3", False)])
def test_integers_reject_fractions_booleans_and_strings(raw: Any, ok: bool) -> None:
    if ok:
        assert coerce_value(INTEGER, raw, QuirkLog()) == raw
    else:
        assert _error(coerce_value, INTEGER, raw, QuirkLog()).scim_type == "invalidValue"


@pytest.mark.parametrize(
    ("raw", "ok"), [(3, True), (2.5, True), (float("nan"), False), (False, False), ("1.0", False)]
)
def test_decimals_accept_numbers_only(raw: Any, ok: bool) -> None:
    if ok:
        assert coerce_value(DECIMAL, raw, QuirkLog()) == raw
    else:
        assert _error(coerce_value, DECIMAL, raw, QuirkLog()).scim_type == "invalidValue"


@pytest.mark.parametrize(
    ("raw", "ok"),
    [
        ("2008-01-23T04:56:22Z", True),
        ("2008-01-23T04:56:22.123Z", True),
        ("2008-01-23T04:56:22+02:00", True),
        ("2008-01-23T04:56:22", True),
        ("2008-01-23", False),
        ("2008-13-23T04:56:22Z", False),
        ("23/01/2008", False),
        (1_200_000_000, False),
    ],
)
def test_date_times_must_be_xsd_date_times_and_are_stored_as_given(raw: Any, ok: bool) -> None:
    if ok:
        assert coerce_value(DATETIME, raw, QuirkLog()) == raw
    else:
        assert _error(coerce_value, DATETIME, raw, QuirkLog()).scim_type == "invalidValue"


def test_binary_values_must_be_base64() -> None:
    assert coerce_value(X509, [{"value": "TUlJREFUQ0NBZW0="}], QuirkLog()) == [{"value": "TUlJREFUQ0NBZW0="}]
    assert _error(coerce_value, X509, [{"value": "not base64!"}], QuirkLog()).scim_type == "invalidValue"


@pytest.mark.parametrize(
    ("raw", "quirk"), [(None, Quirk.NULL_ATTRIBUTE), ("", Quirk.EMPTY_STRING_CLEARS), ([], None)]
)
def test_null_empty_string_and_empty_list_mean_unassigned(raw: Any, quirk: Quirk | None) -> None:
    quirks = QuirkLog()
    assert coerce_value(USER_NAME, raw, quirks) is UNASSIGNED
    assert [q for q, _ in quirks.entries] == ([quirk] if quirk else [])


def test_an_object_with_only_empty_sub_attributes_is_unassigned() -> None:
    assert (
        coerce_value(_attribute(USER_SCHEMA, "name"), {"givenName": "", "familyName": None}, QuirkLog())
        is UNASSIGNED
    )


def test_unknown_member_type_casing_is_normalised() -> None:
    members = _attribute(GROUP_SCHEMA, "members")
    assert coerce_value(members, [{"value": "g", "type": "GROUP"}], QuirkLog()) == [
        {"value": "g", "type": "Group"}
    ]


# -- projection -----------------------------------------------------------------------------------


def _full_user() -> dict[str, Any]:
    return {
        "schemas": [CORE_USER, ENTERPRISE],
        "id": "u-1",
        "externalId": "ext-1",
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "password": "never-shown",
        "emails": [
            {"value": "b@example.com", "type": "work", "primary": True},
            {"value": "b@home.example", "type": "home"},
        ],
        "groups": [{"value": "g-1", "display": "Eng"}],
        ENTERPRISE: {
            "employeeNumber": "7",
            "department": "R&D",
            "manager": {"value": "m-1", "displayName": "Boss"},
        },
        "meta": {"resourceType": "User", "location": "https://sp/Users/u-1", "version": 'W/"1"'},
    }


def _paths(*texts: str) -> list[AttrPath]:
    return [parse_attr_path(t) for t in texts]


def test_default_projection_never_returns_the_password() -> None:
    projected = project(_full_user(), USER)
    expected = _full_user()
    del expected["password"]
    assert projected == expected


def test_attributes_return_the_listed_ones_plus_id_and_schemas() -> None:
    projected = project(_full_user(), USER, attributes=_paths("userName"))
    assert projected == {"schemas": [CORE_USER], "id": "u-1", "userName": "bjensen"}


def test_attributes_with_a_sub_attribute_keep_only_that_sub_attribute() -> None:
    projected = project(_full_user(), USER, attributes=_paths("name.givenName", "emails.value"))
    assert projected["name"] == {"givenName": "Barbara"}
    assert projected["emails"] == [{"value": "b@example.com"}, {"value": "b@home.example"}]


def test_attributes_are_matched_case_insensitively_and_with_the_core_urn() -> None:
    projected = project(_full_user(), USER, attributes=_paths("USERNAME", f"{CORE_USER}:name.familyName"))
    assert projected == {
        "schemas": [CORE_USER],
        "id": "u-1",
        "userName": "bjensen",
        "name": {"familyName": "Jensen"},
    }


def test_attributes_can_name_an_extension_attribute_by_its_urn() -> None:
    projected = project(_full_user(), USER, attributes=_paths(f"{ENTERPRISE}:department"))
    assert projected == {"schemas": [CORE_USER, ENTERPRISE], "id": "u-1", ENTERPRISE: {"department": "R&D"}}


def test_attributes_can_name_a_whole_extension() -> None:
    urn, _, name = ENTERPRISE.rpartition(":")
    projected = project(_full_user(), USER, attributes=[AttrPath(urn, name)])
    assert projected[ENTERPRISE] == _full_user()[ENTERPRISE]
    assert "userName" not in projected


def test_password_is_not_returned_even_when_asked_for() -> None:
    assert "password" not in project(_full_user(), USER, attributes=_paths("password"))


def test_excluded_attributes_remove_default_ones_but_never_id() -> None:
    projected = project(_full_user(), USER, excluded=_paths("id", "emails", "meta", "groups"))
    assert projected["id"] == "u-1"
    assert not {"emails", "meta", "groups", "password"} & set(projected)
    assert projected["userName"] == "bjensen"


def test_excluded_sub_attribute_is_removed_from_every_value() -> None:
    projected = project(_full_user(), USER, excluded=_paths("emails.type", "name.givenName"))
    assert projected["emails"] == [{"value": "b@example.com", "primary": True}, {"value": "b@home.example"}]
    assert projected["name"] == {"familyName": "Jensen"}


def test_excluding_a_whole_extension_also_drops_its_urn_from_schemas() -> None:
    urn, _, name = ENTERPRISE.rpartition(":")
    projected = project(_full_user(), USER, excluded=[AttrPath(urn, name)])
    assert ENTERPRISE not in projected and projected["schemas"] == [CORE_USER]


def test_excluding_an_extension_attribute_keeps_the_rest_of_it() -> None:
    projected = project(_full_user(), USER, excluded=_paths(f"{ENTERPRISE}:manager", "employeeNumber"))
    assert projected[ENTERPRISE] == {"department": "R&D"}


def test_unknown_names_in_attributes_and_excluded_are_ignored() -> None:
    assert project(_full_user(), USER, attributes=_paths("nope", "userName"))["userName"] == "bjensen"
    assert project(_full_user(), USER, excluded=_paths("nope", "name.nope")) == project(_full_user(), USER)


def test_groups_exclude_members_for_entra() -> None:
    group = {
        "schemas": [CORE_GROUP],
        "id": "g-1",
        "displayName": "Eng",
        "members": [{"value": "u-1", "type": "User", "display": "bjensen"}],
        "meta": {"resourceType": "Group"},
    }
    projected = project(group, GROUP, excluded=_paths("members"))
    assert projected == {
        "schemas": [CORE_GROUP],
        "id": "g-1",
        "displayName": "Eng",
        "meta": {"resourceType": "Group"},
    }


def test_meta_is_returned_by_default_and_only_when_asked_with_attributes() -> None:
    assert "meta" in project(_full_user(), USER)
    assert "meta" not in project(_full_user(), USER, attributes=_paths("userName"))
    assert project(_full_user(), USER, attributes=_paths("meta.version"))["meta"] == {"version": 'W/"1"'}


def test_projection_does_not_mutate_the_resource() -> None:
    resource = _full_user()
    before = copy.deepcopy(resource)
    project(resource, USER, attributes=_paths("name.givenName"), excluded=_paths("emails"))
    assert resource == before


# -- PUT: check_immutable and merge_for_replace ---------------------------------------------------

IMMUTABLE_SCHEMA = Schema(
    id="urn:example:scim:schemas:Badge",
    name="Badge",
    description="test schema with immutable attributes",
    attributes=(
        Attribute("serial", mutability="immutable", required=True),
        Attribute("label"),
        Attribute(
            "issuer",
            type="complex",
            sub_attributes=(Attribute("code", mutability="immutable"), Attribute("name")),
        ),
    ),
)
BADGE = type(USER)(id="Badge", name="Badge", endpoint="/Badges", description="", schema=IMMUTABLE_SCHEMA)


def test_changing_a_set_immutable_attribute_is_a_mutability_error() -> None:
    error = _error(check_immutable, {"serial": "A"}, {"serial": "B"}, BADGE)
    assert (error.status, error.scim_type) == (400, "mutability")


def test_resending_an_immutable_value_unchanged_is_fine() -> None:
    check_immutable({"serial": "abc"}, {"serial": "ABC"}, BADGE)  # caseExact=false
    check_immutable({}, {"serial": "new"}, BADGE)  # may be set while unset


def test_immutable_sub_attribute_of_a_complex_attribute_is_checked() -> None:
    error = _error(check_immutable, {"issuer": {"code": "X"}}, {"issuer": {"code": "Y"}}, BADGE)
    assert error.scim_type == "mutability"


def test_group_members_may_be_replaced_wholesale_on_put() -> None:
    check_immutable(
        {"displayName": "g", "members": [{"value": "a"}]},
        {"displayName": "g", "members": [{"value": "b"}]},
        GROUP,
    )


def test_put_clears_read_write_attributes_that_were_not_sent() -> None:
    old = _parse_user({"userName": "a", "title": "Boss", "nickName": "Al", ENTERPRISE: {"department": "R&D"}})
    new = _parse_user({"userName": "a", "title": "CEO"})
    assert merge_for_replace(old, new, USER) == {"schemas": [CORE_USER], "userName": "a", "title": "CEO"}


def test_put_keeps_the_password_when_none_is_sent() -> None:
    old = _parse_user({"userName": "a", "password": "old"})
    assert merge_for_replace(old, _parse_user({"userName": "a"}), USER)["password"] == "old"
    assert (
        merge_for_replace(old, _parse_user({"userName": "a", "password": "new"}), USER)["password"] == "new"
    )


def test_put_keeps_read_only_values_from_the_stored_resource() -> None:
    old = {"id": "u-1", "userName": "a", "groups": [{"value": "g"}], "meta": {"version": "1"}}
    merged = merge_for_replace(old, _parse_user({"userName": "b"}), USER)
    assert merged == {
        "schemas": [CORE_USER],
        "id": "u-1",
        "meta": {"version": "1"},
        "userName": "b",
        "groups": [{"value": "g"}],
    }


def test_put_keeps_an_omitted_immutable_value_and_rejects_a_changed_one() -> None:
    assert merge_for_replace({"serial": "A", "label": "x"}, {"label": "y"}, BADGE)["serial"] == "A"
    assert _error(merge_for_replace, {"serial": "A"}, {"serial": "B"}, BADGE).scim_type == "mutability"


def test_put_keeps_read_only_sub_attributes_of_a_complex_value() -> None:
    old = {"userName": "a", ENTERPRISE: {"manager": {"value": "m", "displayName": "Boss"}}}
    new = _parse_user({"userName": "a", ENTERPRISE: {"manager": {"value": "n"}}})
    assert merge_for_replace(old, new, USER)[ENTERPRISE] == {"manager": {"value": "n", "displayName": "Boss"}}


def test_put_does_not_mutate_its_inputs() -> None:
    old = _parse_user({"userName": "a", "emails": [{"value": "a@x"}], ENTERPRISE: {"department": "d"}})
    new = _parse_user({"userName": "b", ENTERPRISE: {"division": "v"}})
    before = copy.deepcopy((old, new))
    merge_for_replace(old, new, USER)
    assert (old, new) == before


def test_extension_schema_helpers_agree() -> None:
    assert USER.schema_by_urn(ENTERPRISE.lower()) is ENTERPRISE_USER_SCHEMA
