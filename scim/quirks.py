"""Named IdP quirks: non-RFC but unambiguous request shapes that Rollcall accepts.

Every lenient interpretation the protocol layer makes is recorded under one of these names,
so the request log shows exactly which normalisation was applied to which request, and IdP
detection can use them as evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Quirk(StrEnum):
    OP_CAPITALISED = "op_capitalised"  # "op": "Replace" (Entra without aadOptscim062020)
    STRING_BOOLEAN = "string_boolean"  # "active": "False" (Entra, OneLogin templates)
    PATHLESS_DOTTED_KEY = "pathless_dotted_key"  # path-less value {"name.givenName": ...} (Entra flag)
    PATHLESS_URN_KEY = "pathless_urn_key"  # path-less value {"urn:...:User:employeeNumber": ...}
    PATHLESS_READONLY_ID = "pathless_readonly_id"  # path-less replace carrying "id" (Okta group rename)
    MEMBER_REMOVE_VALUE_LIST = "member_remove_value_list"  # remove path=members with a value list
    MEMBER_MISSING_TYPE = "member_missing_type"  # member objects without "type" (Okta, JumpCloud)
    MEMBER_NULL_REF = "member_null_ref"  # member objects with "$ref": null (Entra)
    EMPTY_STRING_CLEARS = "empty_string_clears"  # "" for an attribute means unassigned (OneLogin)
    NONSTANDARD_SCHEMA_URN = "nonstandard_schema_urn"  # urn:scim:schemas:core:2.0 and typos
    SINGLE_OBJECT_FOR_MULTI_VALUED = "single_object_for_multi_valued"  # "emails": {...}
    LIST_FOR_SINGLE_VALUED = "list_for_single_valued"  # "manager": [{"value": ...}] (Entra)
    BARE_ID_FOR_REFERENCE = "bare_id_for_reference"  # "manager": "<id>" instead of {"value": "<id>"} (Entra)
    EXTENSION_SCHEMAS_KEY = "extension_schemas_key"  # {"schemas": [...], ...} inside an extension value
    VALUE_FILTER_ON_SINGLE_VALUED = "value_filter_on_single_valued"  # manager[value eq "x"]
    FILTERED_ADD_CREATES_VALUE = "filtered_add_creates_value"  # emails[type eq "work"].value on no match
    FILTER_VALUE_PATH_SUB_ATTR = "filter_value_path_sub_attr"  # filter emails[type eq "work"].value eq "x"
    MANAGER_ID_KEY = "manager_id_key"  # OneLogin manager: {"managerId": ...}
    TRAILING_QUERY_SEPARATOR = "trailing_query_separator"  # "?" or "&" dangling in the URL
    UNKNOWN_QUERY_PARAMETER = "unknown_query_parameter"  # ?aadOptscim062020 and friends
    PRIMARY_CONFLICT = "primary_conflict"  # more than one primary=true; the last one wins
    MEMBERS_IN_USER_BODY_IGNORED = "members_in_user_body_ignored"  # "groups": [] on POST/PUT User
    NULL_ATTRIBUTE = "null_attribute"  # "title": null in POST bodies (Entra samples)


# What each normalisation means, for the request log (the portal's Activity page, the console).
DESCRIPTIONS: dict[Quirk, str] = {
    Quirk.OP_CAPITALISED: 'The PATCH "op" was capitalised ("Replace"); read as the lower-case operation.',
    Quirk.STRING_BOOLEAN: 'A boolean was sent as text ("False"); read as the boolean.',
    Quirk.PATHLESS_DOTTED_KEY: 'A path-less PATCH value used a dotted key ("name.givenName"); read as that path.',
    Quirk.PATHLESS_URN_KEY: "A path-less PATCH value used an extension URN as key; read as that extension attribute.",
    Quirk.PATHLESS_READONLY_ID: 'A path-less replace carried the read-only "id"; the id was ignored.',
    Quirk.MEMBER_REMOVE_VALUE_LIST: 'Members were removed with a value list instead of a filter; each listed member was removed.',
    Quirk.MEMBER_MISSING_TYPE: 'Group members came without "type"; Rollcall looked each one up.',
    Quirk.MEMBER_NULL_REF: 'Group members carried "$ref": null; the empty reference was ignored.',
    Quirk.EMPTY_STRING_CLEARS: "An empty string was sent for an attribute; read as clearing it.",
    Quirk.NONSTANDARD_SCHEMA_URN: "A non-standard schema URN was sent; read as the standard one.",
    Quirk.SINGLE_OBJECT_FOR_MULTI_VALUED: "A single object was sent for a multi-valued attribute; read as a list of one.",
    Quirk.LIST_FOR_SINGLE_VALUED: "A list was sent for a single-valued attribute (manager); its first value was used.",
    Quirk.BARE_ID_FOR_REFERENCE: "A bare id was sent for a reference (manager); read as its value.",
    Quirk.EXTENSION_SCHEMAS_KEY: 'An extension value carried its own "schemas" key; the key was ignored.',
    Quirk.VALUE_FILTER_ON_SINGLE_VALUED: "A value filter was used on a single-valued attribute; applied to its one value.",
    Quirk.FILTERED_ADD_CREATES_VALUE: "A filtered PATCH path matched no value; the value was added.",
    Quirk.FILTER_VALUE_PATH_SUB_ATTR: "A filter named a sub-attribute after a value filter; read as that sub-attribute.",
    Quirk.MANAGER_ID_KEY: 'The manager came as {"managerId": ...}; read as the manager\'s id.',
    Quirk.TRAILING_QUERY_SEPARATOR: 'The URL ended in a dangling "?" or "&"; ignored.',
    Quirk.UNKNOWN_QUERY_PARAMETER: "The URL carried a parameter SCIM does not define (such as aadOptscim062020); ignored.",
    Quirk.PRIMARY_CONFLICT: "More than one value was marked primary; the last one was kept as primary.",
    Quirk.MEMBERS_IN_USER_BODY_IGNORED: 'A user body carried "groups"; memberships change only through groups, so it was ignored.',
    Quirk.NULL_ATTRIBUTE: "An attribute was sent as null; read as not set.",
}


def describe(name: str) -> str:
    """The description of a recorded quirk name ("" for an unknown one)."""
    try:
        return DESCRIPTIONS[Quirk(name)]
    except ValueError:
        return ""


@dataclass
class QuirkLog:
    """Collects the quirks applied while handling one request."""

    entries: list[tuple[Quirk, str]] = field(default_factory=list)

    def record(self, quirk: Quirk, detail: str = "") -> None:
        if (quirk, detail) not in self.entries:
            self.entries.append((quirk, detail))

    @property
    def names(self) -> list[str]:
        seen: list[str] = []
        for quirk, _ in self.entries:
            if quirk.value not in seen:
                seen.append(quirk.value)
        return seen

    def __bool__(self) -> bool:
        return bool(self.entries)
