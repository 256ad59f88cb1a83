"""Property tests: the filter grammar round-trips, never crashes, and SQL agrees with `evaluate`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scim.errors import ScimError
from scim.filter import (
    And,
    AttrPath,
    Comparison,
    Filter,
    Not,
    Or,
    Present,
    ValueFilter,
    evaluate,
    parse_filter,
    parse_patch_path,
    to_text,
)
from scim.schema import USER, resolve_path
from tests.support.scim_client import ENTERPRISE, USER_SCHEMA, ScimClient

# -- round trip over the whole grammar -----------------------------------------------------------

NAMES = ["userName", "name", "emails", "title", "active", "$ref", "x-y_z2", "A"]
SUBS = [None, "value", "type", "familyName", "$ref"]
URNS = [None, ENTERPRISE, USER_SCHEMA]
COMPARE_OPS = ["eq", "ne", "co", "sw", "ew"]
ORDER_OPS = ["gt", "ge", "lt", "le"]

any_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12)
numbers = st.integers(-(10**20), 10**20) | st.floats(allow_nan=False, allow_infinity=False)


def _cased(name: str) -> st.SearchStrategy[str]:
    return st.sampled_from([name, name.lower(), name.upper()])


@st.composite
def attr_paths(draw: st.DrawFn, *, relative: bool = False, with_sub: bool = True) -> AttrPath:
    attr = draw(st.sampled_from(NAMES).flatmap(_cased))
    if relative:
        return AttrPath(None, attr)
    sub = draw(st.sampled_from(SUBS)) if with_sub else None
    return AttrPath(draw(st.sampled_from(URNS)), attr, sub)


def leaves(paths: st.SearchStrategy[AttrPath]) -> st.SearchStrategy[Filter]:
    return st.one_of(
        st.builds(Present, paths),
        st.builds(Comparison, paths, st.sampled_from(COMPARE_OPS), any_text | numbers | st.booleans() | st.none()),
        st.builds(Comparison, paths, st.sampled_from(ORDER_OPS), any_text | numbers),
    )


def trees(leaf: st.SearchStrategy[Filter], max_leaves: int = 8) -> st.SearchStrategy[Filter]:
    return st.recursive(
        leaf,
        lambda kids: st.builds(And, kids, kids) | st.builds(Or, kids, kids) | st.builds(Not, kids),
        max_leaves=max_leaves,
    )


value_filters = st.builds(
    ValueFilter, attr_paths(with_sub=False), trees(leaves(attr_paths(relative=True)), max_leaves=4)
)
any_filter = trees(leaves(attr_paths()) | value_filters)


@given(any_filter)
@settings(max_examples=300)
def test_to_text_round_trips(expr: Filter) -> None:
    assert parse_filter(to_text(expr)) == expr


@given(value_filters, st.none() | st.sampled_from(["value", "display"]))
@settings(max_examples=100)
def test_patch_path_round_trips(expr: ValueFilter, sub: str | None) -> None:
    text = to_text(expr) + (f".{sub}" if sub else "")
    parsed = parse_patch_path(text)
    assert (parsed.attr, parsed.value_filter, parsed.sub_attr) == (expr.path, expr.filter, sub)


FRAGMENTS = st.sampled_from(
    ['userName', ' eq ', ' pr', ' and ', ' or ', 'not ', '(', ')', '[', ']', '"x"', '"', '\\', '.value',
     ' 12', ' -1.5e3', ' true', ' null', 'emails', f'{ENTERPRISE}:', ':', ' ', 'urn:', '.', ',']
)


@given(st.text() | st.lists(FRAGMENTS, max_size=30).map("".join))
@settings(max_examples=500)
def test_parsing_arbitrary_text_raises_only_invalid_filter(text: str) -> None:
    try:
        expr = parse_filter(text)
    except ScimError as exc:
        assert (exc.status, exc.scim_type) == (400, "invalidFilter")
    else:
        assert parse_filter(to_text(expr)) == expr


@given(st.text() | st.lists(FRAGMENTS, max_size=30).map("".join))
@settings(max_examples=300)
def test_parsing_arbitrary_patch_paths_raises_only_scim_errors(text: str) -> None:
    try:
        parse_patch_path(text)
    except ScimError as exc:
        assert exc.status == 400 and exc.scim_type in {"invalidPath", "invalidFilter"}


def test_deep_nesting_is_rejected_not_a_recursion_error() -> None:
    for text in ["(" * 5000 + "a pr" + ")" * 5000, "not (" * 3000 + "a pr" + ")" * 3000, "a[" * 3000]:
        with pytest.raises(ScimError):
            parse_filter(text)


# -- SQL translation agrees with evaluate ---------------------------------------------------------

PEOPLE: list[dict[str, Any]] = [
    {
        "userName": "ada_l@acme.test",
        "displayName": "Ada Lovelace",
        "title": "Engineer",
        "externalId": "Ext-A",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [
            {"value": "ada@acme.test", "type": "work", "primary": True},
            {"value": "ADA@home.test", "type": "home", "primary": False},
        ],
        ENTERPRISE: {"employeeNumber": "7", "department": "R&D", "manager": {"value": "m-1"}},
    },
    {
        "userName": "Bob%Builder@acme.test",
        "title": "manager",
        "externalId": "ext-b",
        "active": False,
        "name": {"givenName": "Bob"},
        "emails": [{"value": "bob@acme.test", "type": "work", "primary": True}],
        "phoneNumbers": [{"value": "+1 555 0100", "type": "mobile", "primary": False}],
        ENTERPRISE: {"employeeNumber": "70", "department": "ops"},
    },
    {
        "userName": "cy@other.test",
        "nickName": "Cy",
        "emails": [{"value": "cy@other.test", "primary": False}, {"value": "cy_2@acme.test", "type": "other", "primary": False}],
    },
    {"userName": "dee@acme.test", "title": "Intern", "externalId": "EXT-D", "name": {"familyName": "O'Malley"}},
    {"userName": "eve", "displayName": "eve", "active": True, ENTERPRISE: {"manager": {"value": "M-1", "displayName": "Mo"}}},
]

LITERALS = [
    "ada", "ADA", "a", "e", "Eve", "eve", "acme", "@acme.test", "acme.test", "work", "WORK", "home", "other",
    "Engineer", "intern", "manager", "Ext-A", "ext-a", "EXT-D", "ext-b", "7", "70", "r&d", "OPS", "m-1", "M-1",
    "%", "_", "a_l", "b%b", "o'm", "lovelace", ".test", "+1", "mobile", "zzz", "Mo",
]
STRING_PATHS = [
    "userName", "displayName", "nickName", "title", "externalId", "name.givenName", "name.familyName",
    "emails", "emails.value", "emails.type", "phoneNumbers.value", "phoneNumbers.type",
    f"{ENTERPRISE}:employeeNumber", f"{ENTERPRISE}:department", f"{ENTERPRISE}:manager.value",
    f"{ENTERPRISE}:manager.displayName", "urn:ietf:params:scim:schemas:core:2.0:User:userName",
]
PRESENT_PATHS = [*STRING_PATHS, "active", "name", "emails", "phoneNumbers", f"{ENTERPRISE}:manager"]
ELEMENT_PATHS = ["value", "type"]


def _path(text: str) -> st.SearchStrategy[AttrPath]:
    path = parse_filter(f"{text} pr")
    assert isinstance(path, Present)
    # Attribute names are case-insensitive: the SQL side must not depend on the spelling.
    return st.sampled_from([path.path, AttrPath(path.path.urn, path.path.attr.upper(), path.path.sub_attr)])


def _sql_leaves(ids: list[str], stamps: list[str]) -> st.SearchStrategy[Filter]:
    strings = st.sampled_from(LITERALS + ids + stamps)
    ops = st.sampled_from(COMPARE_OPS + ORDER_OPS)
    string_path = st.sampled_from(STRING_PATHS).flatmap(_path)
    element = trees(
        st.one_of(
            st.builds(Comparison, st.sampled_from(ELEMENT_PATHS).map(lambda a: AttrPath(None, a)), ops, strings),
            st.builds(Comparison, st.just(AttrPath(None, "primary")), st.sampled_from(["eq", "ne"]), st.booleans()),
            st.builds(Present, st.sampled_from([*ELEMENT_PATHS, "display"]).map(lambda a: AttrPath(None, a))),
        ),
        max_leaves=3,
    )
    return st.one_of(
        st.builds(Comparison, string_path, ops, strings),
        st.builds(Comparison, string_path, st.sampled_from(["eq", "ne"]), st.none()),
        st.builds(Present, st.sampled_from(PRESENT_PATHS).flatmap(_path)),
        st.builds(Comparison, st.just(AttrPath(None, "active")), st.sampled_from(["eq", "ne"]), st.booleans()),
        st.builds(
            Comparison,
            st.sampled_from(["meta.created", "meta.lastModified"]).flatmap(_path),
            ops.filter(lambda op: op not in {"co", "sw", "ew"}),
            st.sampled_from(stamps),
        ),
        st.builds(Comparison, st.just(AttrPath(None, "id")), st.sampled_from(["eq", "ne", "sw"]), strings),
        st.builds(ValueFilter, st.sampled_from([AttrPath(None, "emails"), AttrPath(None, "phoneNumbers")]), element),
    )


@pytest.fixture
def directory(scim: ScimClient) -> list[dict[str, Any]]:
    """The PEOPLE as the server renders them (created once per test, never modified)."""
    for person in PEOPLE:
        schemas = [USER_SCHEMA, ENTERPRISE] if ENTERPRISE in person else [USER_SCHEMA]
        response = scim.post("/Users", {"schemas": schemas, **person})
        assert response.status == 201, response.body
    listed = scim.get("/Users?count=100")
    assert listed.status == 200 and listed["totalResults"] == len(PEOPLE)
    return list(listed["Resources"])


def _case_exact(path: AttrPath) -> bool:
    return resolve_path(USER, path).target.case_exact


def _ids(docs: list[dict[str, Any]]) -> list[str]:
    """The directory's ids, and spellings of them that are other strings."""
    return [v for d in docs for v in (d["id"], d["id"].upper(), d["id"][:8], "urn:uuid:" + d["id"])]


def _stamps(docs: list[dict[str, Any]]) -> list[str]:
    """The directory's rendered timestamps, the same instants spelled otherwise, and near misses."""
    values: list[str] = []
    for stamp in (s for d in docs for s in (d["meta"]["created"], d["meta"]["lastModified"])):
        values += [stamp, stamp.replace("Z", "+00:00"), stamp[:19] + "Z", stamp[:19], stamp[:23] + "5Z"]
        values.append(stamp[:20] + str(int(stamp[20:23]) + 1).zfill(3) + "Z" if stamp[20:23] != "999" else stamp)
    return values


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_sql_translation_agrees_with_evaluate(scim: ScimClient, directory: list[dict[str, Any]], data: st.DataObject) -> None:
    expr = data.draw(trees(_sql_leaves(_ids(directory), _stamps(directory)), max_leaves=6), label="filter")
    text = to_text(expr)
    response = scim.get("/Users?" + urlencode({"filter": text, "count": 100}))
    assert response.status == 200, (text, response.body)
    via_sql = {r["id"] for r in response["Resources"]}
    via_python = {doc["id"] for doc in directory if evaluate(expr, doc, case_exact=_case_exact)}
    assert via_sql == via_python, text
