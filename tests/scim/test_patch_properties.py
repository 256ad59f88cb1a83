from __future__ import annotations

import contextlib
import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scim.errors import ScimError
from scim.patch import apply_patch, parse_patch_request, split_member_operations
from scim.quirks import QuirkLog
from scim.resources import parse_resource
from scim.schema import GROUP, USER, ResourceType

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

QUICK = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789@.-_ ", min_size=1, max_size=12).filter(
    lambda s: s.strip() != "" and s.lower() not in ("true", "false")
)
email_types = st.sampled_from(["work", "home", "other", "custom"])


def _email() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"value": words}, optional={"type": email_types, "primary": st.booleans(), "display": words}
    )


user_bodies = st.fixed_dictionaries(
    {"userName": words},
    optional={
        "title": words,
        "displayName": words,
        "nickName": words,
        "externalId": words,
        "active": st.booleans(),
        "name": st.fixed_dictionaries(
            {}, optional={"givenName": words, "familyName": words, "formatted": words}
        ),
        "emails": st.lists(_email(), max_size=4),
        "phoneNumbers": st.lists(_email(), max_size=2),
        ENTERPRISE: st.fixed_dictionaries(
            {},
            optional={
                "department": words,
                "employeeNumber": words,
                "manager": st.fixed_dictionaries({"value": words}),
            },
        ),
    },
)


def _user(body: dict[str, Any]) -> dict[str, Any]:
    return parse_resource(body, USER, QuirkLog())


members = st.lists(
    st.fixed_dictionaries({"value": words}, optional={"type": st.sampled_from(["User", "Group"])}), max_size=4
)
group_bodies = st.fixed_dictionaries(
    {"displayName": words}, optional={"externalId": words, "members": members}
)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | words
attribute_names = st.sampled_from(
    [
        "userName", "title", "active", "name", "name.givenName", "emails", "id", "meta", "groups", "members",
        "displayName", "manager", "employeeNumber", "nope", "schemas", "value", "type", "primary", "$ref",
        "display", "managerId", ENTERPRISE, f"{ENTERPRISE}:department", "urn:scim:schemas:extension:enterprise:2.0",
        "urn:", ".", "", "Members",
    ]
)  # fmt: skip
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(attribute_names, inner, max_size=3),
    max_leaves=8,
)
paths = st.sampled_from(
    [
        None, "userName", "USERNAME", "title", "active", "name", "name.givenName", "name.nope", "emails",
        "emails.value", 'emails[type eq "work"]', 'emails[type eq "work"].value', 'emails[type eq "home"].primary',
        'emails[value co "a"]', 'emails[type eq "work" and primary eq true].display', "phoneNumbers",
        'addresses[type eq "work"].formatted', "id", "meta", "meta.created", "groups", "members",
        'members[value eq "a"]', 'members[value eq "a"].value', "manager", 'manager[value eq "a"]', "manager.value",
        f"{ENTERPRISE}:manager", f"{ENTERPRISE}:department", ENTERPRISE, "employeeNumber", "displayName",
        "externalId", "x509Certificates", "nope", "userName.x", 'title[value eq "x"]', "emails[", "urn:x:y",
    ]
)  # fmt: skip
ops = st.sampled_from(["add", "remove", "replace", "Add", "Replace", "Remove", "ADD"])


@st.composite
def operations(draw: st.DrawFn) -> dict[str, Any]:
    operation: dict[str, Any] = {"op": draw(ops)}
    path = draw(paths)
    if path is not None:
        operation["path"] = path
    if draw(st.booleans()) or path is None:
        operation["value"] = draw(json_values)
    return operation


def _apply(resource: dict[str, Any], rtype: ResourceType, *raw_ops: dict[str, Any]) -> dict[str, Any]:
    quirks = QuirkLog()
    parsed = parse_patch_request({"schemas": [PATCH_OP], "Operations": list(raw_ops)}, quirks)
    return apply_patch(resource, parsed, rtype, quirks)


# (a) idempotent add -------------------------------------------------------------------------------


@QUICK
@given(user_bodies, st.data())
def test_adding_a_value_already_present_leaves_the_resource_unchanged(
    body: dict[str, Any], data: st.DataObject
) -> None:
    user = _user(body)
    for attribute in ("emails", "phoneNumbers"):
        if user.get(attribute):
            element = data.draw(st.sampled_from(user[attribute]))
            assert _apply(user, USER, {"op": "add", "path": attribute, "value": [element]}) == user
    assert _apply(user, USER, {"op": "add", "path": "userName", "value": user["userName"]}) == user


@QUICK
@given(user_bodies)
def test_adding_the_resource_to_itself_without_a_path_changes_nothing(body: dict[str, Any]) -> None:
    user = _user(body)
    value = {k: v for k, v in user.items() if k != "schemas"}
    assert _apply(user, USER, {"op": "add", "value": value}) == user


@QUICK
@given(group_bodies, st.data())
def test_adding_an_existing_member_again_changes_nothing(body: dict[str, Any], data: st.DataObject) -> None:
    group = parse_resource(body, GROUP, QuirkLog())
    if group.get("members"):
        member = data.draw(st.sampled_from(group["members"]))
        assert _apply(group, GROUP, {"op": "add", "path": "members", "value": [member]}) == group


# (b) purity ---------------------------------------------------------------------------------------


@QUICK
@given(user_bodies, st.lists(operations(), min_size=1, max_size=4))
def test_apply_patch_never_mutates_its_input(body: dict[str, Any], raw_ops: list[dict[str, Any]]) -> None:
    user = _user(body)
    before = copy.deepcopy(user)
    raw_before = copy.deepcopy(raw_ops)
    with contextlib.suppress(ScimError):
        _apply(user, USER, *raw_ops)
    assert user == before
    assert raw_ops == raw_before


# (c) total: ScimError or success, never anything else -------------------------------------------


@QUICK
@given(user_bodies, st.lists(operations(), min_size=1, max_size=5))
def test_random_user_patches_succeed_or_raise_scim_error(
    body: dict[str, Any], raw_ops: list[dict[str, Any]]
) -> None:
    try:
        patched = _apply(_user(body), USER, *raw_ops)
    except ScimError as error:
        assert error.status == 400 and error.scim_type is not None
        return
    assert patched["schemas"][0] == USER.schema.id
    assert patched["userName"]


@QUICK
@given(group_bodies, st.lists(operations(), min_size=1, max_size=5))
def test_random_group_patches_succeed_or_raise_scim_error(
    body: dict[str, Any], raw_ops: list[dict[str, Any]]
) -> None:
    group = parse_resource(body, GROUP, QuirkLog())
    quirks = QuirkLog()
    try:
        parsed = parse_patch_request({"Operations": raw_ops}, quirks)
        remaining, _ = split_member_operations(parsed, quirks)
        patched = apply_patch(group, remaining, GROUP, quirks)
    except ScimError as error:
        assert error.status == 400
        return
    assert patched["displayName"]


@QUICK
@given(json_values)
def test_random_patch_bodies_parse_or_raise_scim_error(body: Any) -> None:
    with contextlib.suppress(ScimError):
        parse_patch_request(body, QuirkLog())


@QUICK
@given(st.dictionaries(attribute_names, json_values, max_size=6))
def test_random_resource_bodies_parse_or_raise_scim_error(body: dict[str, Any]) -> None:
    for rtype in (USER, GROUP):
        try:
            parse_resource(body, rtype, QuirkLog())
        except ScimError as error:
            assert error.status == 400


# (d) replace then get -----------------------------------------------------------------------------

SIMPLE_PATHS = {
    "title": ("title",),
    "displayName": ("displayName",),
    "userName": ("userName",),
    "externalId": ("externalId",),
    "name.givenName": ("name", "givenName"),
    "NAME.familyName": ("name", "familyName"),
    f"{ENTERPRISE}:department": (ENTERPRISE, "department"),
    "employeeNumber": (ENTERPRISE, "employeeNumber"),
    f"{ENTERPRISE}:manager.value": (ENTERPRISE, "manager", "value"),
}


def _get(resource: dict[str, Any], keys: tuple[str, ...]) -> Any:
    value: Any = resource
    for key in keys:
        value = value[key]
    return value


@QUICK
@given(user_bodies, st.sampled_from(sorted(SIMPLE_PATHS)), words)
def test_replace_then_get_returns_the_value(body: dict[str, Any], path: str, value: str) -> None:
    patched = _apply(_user(body), USER, {"op": "replace", "path": path, "value": value})
    assert _get(patched, SIMPLE_PATHS[path]) == value


@QUICK
@given(user_bodies, st.booleans(), st.sampled_from([str, bool]))
def test_replace_active_then_get_returns_a_boolean(body: dict[str, Any], active: bool, form: type) -> None:
    value: Any = str(active) if form is str else active
    assert _apply(_user(body), USER, {"op": "Replace", "path": "active", "value": value})["active"] is active


@QUICK
@given(user_bodies, email_types, words)
def test_replace_typed_email_then_get_returns_it(body: dict[str, Any], kind: str, value: str) -> None:
    patched = _apply(
        _user(body), USER, {"op": "replace", "path": f'emails[type eq "{kind}"].value', "value": value}
    )
    typed = [e for e in patched["emails"] if e.get("type") == kind]
    assert typed and all(e["value"] == value for e in typed)
