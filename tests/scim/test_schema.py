from __future__ import annotations

import json

import pytest

from scim.errors import ScimError
from scim.filter import AttrPath
from scim.schema import (
    COMMON_ATTRIBUTES,
    ENTERPRISE_USER_SCHEMA,
    GROUP,
    GROUP_SCHEMA,
    RESOURCE_TYPES,
    USER,
    USER_SCHEMA,
    Attribute,
    canonical_schema_urn,
    resolve_path,
    resource_type_document,
    resource_type_for_endpoint,
    schema_document,
    service_provider_config,
)

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def _attr(schema_attr: Attribute | None) -> Attribute:
    assert schema_attr is not None
    return schema_attr


# -- definitions --------------------------------------------------------------------------------


def test_user_schema_lists_every_rfc_attribute_in_rfc_order() -> None:
    assert [a.name for a in USER_SCHEMA.attributes] == [
        "userName", "name", "displayName", "nickName", "profileUrl", "title", "userType",
        "preferredLanguage", "locale", "timezone", "active", "password", "emails", "phoneNumbers",
        "ims", "photos", "addresses", "groups", "entitlements", "roles", "x509Certificates",
    ]  # fmt: skip


def test_user_name_is_required_case_insensitive_and_unique_per_server() -> None:
    user_name = _attr(USER_SCHEMA.attr("userName"))
    assert (user_name.required, user_name.case_exact, user_name.uniqueness) == (True, False, "server")
    assert user_name.mutability == "readWrite" and user_name.returned == "default"


def test_name_has_the_six_rfc_sub_attributes() -> None:
    name = _attr(USER_SCHEMA.attr("name"))
    assert name.type == "complex" and not name.multi_valued
    assert [s.name for s in name.sub_attributes] == [
        "formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix",
    ]  # fmt: skip


def test_password_is_write_only_and_never_returned() -> None:
    password = _attr(USER_SCHEMA.attr("password"))
    assert (password.mutability, password.returned) == ("writeOnly", "never")


def test_user_groups_are_read_only_with_direct_and_indirect_types() -> None:
    groups = _attr(USER_SCHEMA.attr("groups"))
    assert groups.mutability == "readOnly" and groups.multi_valued
    assert all(s.mutability == "readOnly" for s in groups.sub_attributes)
    assert _attr(groups.sub("type")).canonical_values == ("direct", "indirect")
    assert _attr(groups.sub("$ref")).reference_types == ("User", "Group")


def test_multi_valued_contact_attributes_carry_their_canonical_types() -> None:
    canonical = {
        name: _attr(_attr(USER_SCHEMA.attr(name)).sub("type")).canonical_values
        for name in ("emails", "phoneNumbers", "ims", "photos", "addresses")
    }
    assert canonical == {
        "emails": ("work", "home", "other"),
        "phoneNumbers": ("work", "home", "mobile", "fax", "pager", "other"),
        "ims": ("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"),
        "photos": ("photo", "thumbnail"),
        "addresses": ("work", "home", "other"),
    }


def test_emails_have_value_display_type_and_boolean_primary() -> None:
    emails = _attr(USER_SCHEMA.attr("emails"))
    assert [s.name for s in emails.sub_attributes] == ["value", "display", "type", "primary"]
    assert _attr(emails.sub("primary")).type == "boolean"


def test_reference_and_binary_attributes_are_typed() -> None:
    assert _attr(USER_SCHEMA.attr("profileUrl")).type == "reference"
    assert _attr(USER_SCHEMA.attr("profileUrl")).reference_types == ("external",)
    photo_value = _attr(_attr(USER_SCHEMA.attr("photos")).sub("value"))
    assert (photo_value.type, photo_value.reference_types) == ("reference", ("external",))
    certificate = _attr(_attr(USER_SCHEMA.attr("x509Certificates")).sub("value"))
    assert certificate.type == "binary" and certificate.case_exact


def test_active_is_a_boolean() -> None:
    assert _attr(USER_SCHEMA.attr("active")).type == "boolean"


def test_common_attributes_follow_rfc_7643_section_3_1() -> None:
    by_name = {a.name: a for a in COMMON_ATTRIBUTES}
    assert set(by_name) == {"id", "externalId", "meta"}
    identifier = by_name["id"]
    assert (identifier.mutability, identifier.returned, identifier.case_exact, identifier.uniqueness) == (
        "readOnly",
        "always",
        True,
        "server",
    )
    assert by_name["externalId"].case_exact and by_name["externalId"].mutability == "readWrite"
    meta = by_name["meta"]
    assert meta.mutability == "readOnly" and meta.type == "complex"
    assert [s.name for s in meta.sub_attributes] == [
        "resourceType",
        "created",
        "lastModified",
        "location",
        "version",
    ]
    assert _attr(meta.sub("created")).type == "dateTime"


def test_group_display_name_is_required() -> None:
    assert _attr(GROUP_SCHEMA.attr("displayName")).required


def test_group_members_value_ref_and_type_are_immutable_and_display_read_only() -> None:
    members = _attr(GROUP_SCHEMA.attr("members"))
    subs = {s.name: s for s in members.sub_attributes}
    assert {n: s.mutability for n, s in subs.items()} == {
        "value": "immutable",
        "$ref": "immutable",
        "type": "immutable",
        "display": "readOnly",
    }
    assert subs["type"].canonical_values == ("User", "Group")
    assert subs["$ref"].reference_types == ("User", "Group")


def test_enterprise_extension_has_manager_with_read_only_display_name() -> None:
    assert [a.name for a in ENTERPRISE_USER_SCHEMA.attributes] == [
        "employeeNumber", "costCenter", "organization", "division", "department", "manager",
    ]  # fmt: skip
    manager = _attr(ENTERPRISE_USER_SCHEMA.attr("manager"))
    assert [(s.name, s.mutability) for s in manager.sub_attributes] == [
        ("value", "readWrite"),
        ("$ref", "readWrite"),
        ("displayName", "readOnly"),
    ]
    assert _attr(manager.sub("$ref")).reference_types == ("User",)


def test_every_attribute_has_a_description() -> None:
    def walk(attributes: tuple[Attribute, ...]) -> list[Attribute]:
        return [x for a in attributes for x in (a, *walk(a.sub_attributes))]

    all_attributes = walk(
        USER_SCHEMA.attributes + ENTERPRISE_USER_SCHEMA.attributes + GROUP_SCHEMA.attributes
    )
    assert [a.name for a in all_attributes if not a.description] == []


def test_attribute_and_sub_attribute_lookup_ignores_case() -> None:
    assert _attr(USER_SCHEMA.attr("USERNAME")).name == "userName"
    assert _attr(_attr(USER_SCHEMA.attr("name")).sub("GIVENNAME")).name == "givenName"
    assert USER_SCHEMA.attr("nope") is None


# -- resource types -------------------------------------------------------------------------------


def test_resource_types_are_keyed_by_name() -> None:
    assert RESOURCE_TYPES == {"User": USER, "Group": GROUP}
    assert USER.extensions == ((ENTERPRISE_USER_SCHEMA, False),)
    assert GROUP.extensions == ()


@pytest.mark.parametrize(
    ("segment", "expected"), [("Users", "User"), ("users", "User"), ("/Groups", "Group"), ("GROUPS", "Group")]
)
def test_resource_type_for_endpoint_ignores_case(segment: str, expected: str) -> None:
    rtype = resource_type_for_endpoint(segment)
    assert rtype is not None and rtype.name == expected


def test_resource_type_for_an_unknown_endpoint_is_none() -> None:
    assert resource_type_for_endpoint("Devices") is None


@pytest.mark.parametrize(
    ("urn", "expected"),
    [
        ("urn:scim:schemas:core:2.0", (CORE_USER, True)),
        ("urn:scim:schemas:core:1.0", (CORE_USER, True)),
        ("urn:scim:schemas:extension:enterprise:2.0", (ENTERPRISE, True)),
        ("urn:scim:schemas:extension:enterprise:1.0", (ENTERPRISE, True)),
        ("urn:ietf:params:scim:schemas:extension:enterprise:2.0User", (ENTERPRISE, True)),
        (ENTERPRISE.upper(), (ENTERPRISE, False)),
        ("http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group", (None, False)),
    ],
)
def test_non_rfc_schema_urns_map_to_rfc_ones_for_users(urn: str, expected: tuple[str | None, bool]) -> None:
    assert canonical_schema_urn(USER, urn) == expected


def test_old_core_urn_means_the_group_schema_on_groups() -> None:
    assert canonical_schema_urn(GROUP, "urn:scim:schemas:core:2.0") == (GROUP_SCHEMA.id, True)
    assert canonical_schema_urn(GROUP, "urn:scim:schemas:extension:enterprise:2.0") == (None, True)


# -- resolve_path ---------------------------------------------------------------------------------


def test_core_attribute_resolves_with_or_without_its_urn() -> None:
    plain = resolve_path(USER, AttrPath(None, "username"))
    qualified = resolve_path(USER, AttrPath(CORE_USER, "userName"))
    assert plain == qualified
    assert plain.schema is USER_SCHEMA and plain.attribute.name == "userName" and plain.sub is None


def test_sub_attribute_resolves_case_insensitively() -> None:
    resolved = resolve_path(USER, AttrPath(None, "NAME", "givenname"))
    assert (resolved.attribute.name, resolved.sub and resolved.sub.name) == ("name", "givenName")


def test_extension_attribute_resolves_with_its_urn() -> None:
    resolved = resolve_path(USER, AttrPath(ENTERPRISE, "manager", "value"))
    assert resolved.schema is ENTERPRISE_USER_SCHEMA
    assert (resolved.attribute.name, resolved.sub and resolved.sub.name) == ("manager", "value")


def test_unqualified_extension_attribute_resolves_when_unambiguous() -> None:
    resolved = resolve_path(USER, AttrPath(None, "employeeNumber"))
    assert resolved.schema is ENTERPRISE_USER_SCHEMA and resolved.attribute.name == "employeeNumber"


def test_common_attributes_resolve_to_the_core_schema() -> None:
    assert resolve_path(USER, AttrPath(None, "id")).attribute.name == "id"
    assert resolve_path(GROUP, AttrPath(None, "externalid")).schema is GROUP_SCHEMA
    meta = resolve_path(GROUP, AttrPath(None, "meta", "lastModified"))
    assert meta.sub is not None and meta.sub.name == "lastModified"


@pytest.mark.parametrize(
    "path",
    [
        AttrPath(None, "nope"),
        AttrPath(None, "userName", "first"),  # sub-attribute of a simple attribute
        AttrPath(None, "name", "nope"),
        AttrPath("urn:example:unknown", "userName"),
        AttrPath(CORE_USER, "employeeNumber"),  # extension attribute under the core URN
        AttrPath(ENTERPRISE, "userName"),
    ],
)
def test_unknown_attribute_paths_are_invalid_path(path: AttrPath) -> None:
    with pytest.raises(ScimError) as raised:
        resolve_path(USER, path)
    assert (raised.value.status, raised.value.scim_type) == (400, "invalidPath")


def test_user_attributes_do_not_resolve_on_groups() -> None:
    with pytest.raises(ScimError):
        resolve_path(GROUP, AttrPath(None, "userName"))


# -- discovery documents --------------------------------------------------------------------------


def test_schema_document_describes_every_characteristic() -> None:
    doc = schema_document(USER_SCHEMA, "https://sp.example/scim/v2/Schemas/" + CORE_USER)
    assert doc["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Schema"]
    assert (doc["id"], doc["name"]) == (CORE_USER, "User")
    assert doc["meta"] == {
        "resourceType": "Schema",
        "location": "https://sp.example/scim/v2/Schemas/" + CORE_USER,
    }
    user_name = doc["attributes"][0]
    assert user_name == {
        "name": "userName",
        "type": "string",
        "multiValued": False,
        "description": _attr(USER_SCHEMA.attr("userName")).description,
        "required": True,
        "caseExact": False,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "server",
    }
    json.dumps(doc)


def test_schema_document_lists_sub_attributes_canonical_values_and_reference_types() -> None:
    doc = schema_document(GROUP_SCHEMA, "/Schemas/" + GROUP_SCHEMA.id)
    members = next(a for a in doc["attributes"] if a["name"] == "members")
    assert members["multiValued"] is True and members["type"] == "complex"
    subs = {s["name"]: s for s in members["subAttributes"]}
    assert subs["type"]["canonicalValues"] == ["User", "Group"]
    assert subs["$ref"]["referenceTypes"] == ["User", "Group"]
    assert "canonicalValues" not in subs["value"] and "subAttributes" not in subs["value"]


def test_resource_type_document_names_schema_and_extensions() -> None:
    doc = resource_type_document(USER, "https://sp.example/scim/v2/ResourceTypes/User")
    assert doc == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account",
        "schema": CORE_USER,
        "schemaExtensions": [{"schema": ENTERPRISE, "required": False}],
        "meta": {"resourceType": "ResourceType", "location": "https://sp.example/scim/v2/ResourceTypes/User"},
    }
    assert resource_type_document(GROUP, "/ResourceTypes/Group")["schemaExtensions"] == []


def test_service_provider_config_tells_what_the_server_supports() -> None:
    doc = service_provider_config(
        base_url="https://sp.example/scim/v2/",
        documentation_uri="https://docs.example/scim",
        max_results=200,
        bulk_max_operations=1000,
        bulk_max_payload=1_048_576,
    )
    assert doc["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert doc["patch"] == {"supported": True}
    assert doc["bulk"] == {"supported": True, "maxOperations": 1000, "maxPayloadSize": 1_048_576}
    assert doc["filter"] == {"supported": True, "maxResults": 200}
    assert doc["changePassword"] == {"supported": False}
    assert doc["sort"] == {"supported": True} and doc["etag"] == {"supported": True}
    assert doc["pagination"] == {
        "cursor": False,
        "index": True,
        "defaultPaginationMethod": "index",
        "defaultPageSize": 200,
        "maxPageSize": 200,
    }
    (scheme,) = doc["authenticationSchemes"]
    assert (scheme["type"], scheme["primary"]) == ("oauthbearertoken", True)
    assert {"name", "description", "specUri", "documentationUri"} <= set(scheme)
    assert doc["meta"] == {
        "resourceType": "ServiceProviderConfig",
        "location": "https://sp.example/scim/v2/ServiceProviderConfig",
    }
    json.dumps(doc)


def test_service_provider_config_default_page_size_never_exceeds_the_maximum() -> None:
    doc = service_provider_config(
        base_url="/scim/v2",
        documentation_uri="https://docs.example/scim",
        max_results=100,
        bulk_max_operations=10,
        bulk_max_payload=10,
        default_page_size=500,
    )
    assert doc["pagination"]["defaultPageSize"] == 100
