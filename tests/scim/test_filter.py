"""The SCIM filter grammar (RFC 7644 §3.4.2.2), PATCH paths (§3.5.2) and in-memory evaluation."""

from __future__ import annotations

from typing import Any

import pytest

from scim.errors import ScimError
from scim.filter import (
    And,
    AttrPath,
    Comparison,
    Filter,
    Not,
    Or,
    PatchPath,
    Present,
    ValueFilter,
    evaluate,
    parse_attr_list,
    parse_attr_path,
    parse_filter,
    parse_patch_path,
    to_text,
)
from scim.schema import ENTERPRISE_USER_URN as ENTERPRISE
from scim.schema import USER, resolve_path


def p(attr: str, sub: str | None = None, urn: str | None = None) -> AttrPath:
    return AttrPath(urn, attr, sub)


def eq(attr: str, value: Any) -> Comparison:
    return Comparison(p(attr), "eq", value)


# -- grammar -----------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"])
def test_every_comparison_operator_parses(op: str) -> None:
    assert parse_filter(f'title {op} "x"') == Comparison(p("title"), op, "x")


def test_present_operator_has_no_value() -> None:
    assert parse_filter("title pr") == Present(p("title"))


def test_and_binds_tighter_than_or() -> None:
    a, b, c = Present(p("a")), Present(p("b")), Present(p("c"))
    assert parse_filter("a pr or b pr and c pr") == Or(a, And(b, c))
    assert parse_filter("a pr and b pr or c pr") == Or(And(a, b), c)


def test_parentheses_override_precedence() -> None:
    a, b, c = Present(p("a")), Present(p("b")), Present(p("c"))
    assert parse_filter("(a pr or b pr) and c pr") == And(Or(a, b), c)
    assert parse_filter("((a pr))") == a


def test_not_applies_to_its_parenthesised_group_only() -> None:
    a, b = Present(p("a")), Present(p("b"))
    assert parse_filter("not (a pr) and b pr") == And(Not(a), b)
    assert parse_filter("not (a pr and b pr)") == Not(And(a, b))
    assert parse_filter("not (not (a pr or b pr))") == Not(Not(Or(a, b)))
    assert parse_filter("NOT(a pr)") == Not(a)


def test_long_chains_parse_as_shallow_trees() -> None:
    text = " or ".join(f'userName eq "u{i}"' for i in range(400))
    expr = parse_filter(text)

    def depth(e: Filter) -> int:
        return 1 + max(depth(e.left), depth(e.right)) if isinstance(e, (And, Or)) else 1

    assert depth(expr) <= 10
    assert evaluate(expr, {"userName": "u399"}) and not evaluate(expr, {"userName": "u400"})
    assert parse_filter(to_text(expr)) == expr


def test_complex_attribute_filter() -> None:
    assert parse_filter('emails[type eq "work" and value co "@acme"]') == ValueFilter(
        p("emails"), And(eq("type", "work"), Comparison(p("value"), "co", "@acme"))
    )


def test_sub_attribute_path() -> None:
    assert parse_filter('name.familyName eq "Lovelace"') == Comparison(p("name", "familyName"), "eq", "Lovelace")


def test_extension_urn_qualified_attributes() -> None:
    assert parse_filter(f'{ENTERPRISE}:employeeNumber eq "7"') == Comparison(p("employeeNumber", urn=ENTERPRISE), "eq", "7")
    assert parse_filter(f'{ENTERPRISE}:manager.value eq "m"') == Comparison(
        p("manager", "value", urn=ENTERPRISE), "eq", "m"
    )


def test_attribute_names_and_operators_are_case_insensitive() -> None:
    upper, mixed = parse_filter('USERNAME EQ "x"'), parse_filter('userName Eq "x"')
    assert upper.op == mixed.op == "eq"  # type: ignore[union-attr]
    assert upper.path.attr_key == mixed.path.attr_key == "username"  # type: ignore[union-attr]
    assert parse_filter("a PR AND b Pr OR NOT (c pr)") == Or(
        And(Present(p("a")), Present(p("b"))), Not(Present(p("c")))
    )


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r'"say \"hi\""', 'say "hi"'),
        (r'"back\\slash"', "back\\slash"),
        (r'"caf\u00e9 \u2603"', "café ☃"),
        ('"café ☃"', "café ☃"),
        (r'"tab\tnew\nline\/"', "tab\tnew\nline/"),
        ('""', ""),
        ("true", True),
        ("False", False),
        ("null", None),
        ("42", 42),
        ("-7", -7),
        ("3.25", 3.25),
        ("-0.5", -0.5),
        ("1e3", 1000.0),
        ('"2011-05-13T04:42:34Z"', "2011-05-13T04:42:34Z"),
    ],
)
def test_literals_are_json_values(literal: str, value: Any) -> None:
    expr = parse_filter(f"title eq {literal}")
    assert isinstance(expr, Comparison)
    assert expr.value == value and type(expr.value) is type(value)


def test_whitespace_is_tolerated() -> None:
    expected = And(eq("userName", "a"), Present(p("title")))
    assert parse_filter('  userName   eq\t"a"\n and ( title pr )  ') == expected
    assert parse_filter('userName eq "a" and(title pr)') == expected


def test_entra_sub_attribute_after_value_filter() -> None:
    assert parse_filter('emails[type eq "work"].value eq "x"') == ValueFilter(
        p("emails"), And(eq("type", "work"), eq("value", "x"))
    )


@pytest.mark.parametrize(
    "text",
    [
        '(userName eq "a"',
        'userName eq "a")',
        'emails[type eq "work"',
        'emails type eq "work"]',
        "userName eq",
        'userName xx "a"',
        'userName like "a"',
        'title pr "x"',
        'userName eq "a" garbage',
        'userName eq "a" and',
        "",
        "   ",
        'userName eq "abc',
        "a[b[c eq 1]]",
        'emails[type eq "w"][value eq "x"]',
        'userName "a"',
        "eq",
        "not title pr",
        "()",
        "userName eq bare",
        'userName eq "bad \\q escape"',
        'userName eq "nul \\u0000"',
        'userName eq "lone \\ud800"',
        "title eq 1e400",
        'name.familyName.x eq "a"',
        'name.familyName[value eq "a"]',
        'emails[type eq "work"].value.x eq "a"',
        "active gt true",
        "title lt null",
        '"userName" eq "a"',
        "not (" * 60 + "a pr" + ")" * 60,
    ],
)
def test_invalid_filters_raise_400_invalid_filter(text: str) -> None:
    with pytest.raises(ScimError) as caught:
        parse_filter(text)
    assert caught.value.status == 400
    assert caught.value.scim_type == "invalidFilter"


def test_to_text_round_trips() -> None:
    text = (
        f'(emails[type eq "work" and value co "@acme"] or not ({ENTERPRISE}:manager.value pr)) '
        'and meta.lastModified gt "2011-05-13T04:42:34Z" and title ne null and x ge -1.5'
    )
    expr = parse_filter(text)
    assert parse_filter(to_text(expr)) == expr


# -- attribute paths -----------------------------------------------------------------------------


def test_attribute_paths_and_lists() -> None:
    assert parse_attr_path(" name.givenName ") == p("name", "givenName")
    assert parse_attr_path(f"{ENTERPRISE}:manager") == p("manager", urn=ENTERPRISE)
    assert parse_attr_list("userName, emails.value,,") == [p("userName"), p("emails", "value")]


# -- PATCH paths -------------------------------------------------------------------------------


def test_patch_path_with_value_filter() -> None:
    assert parse_patch_path('members[value eq "x"]') == PatchPath(p("members"), eq("value", "x"), None)


def test_patch_path_with_value_filter_and_sub_attribute() -> None:
    assert parse_patch_path('emails[type eq "work"].value') == PatchPath(p("emails"), eq("type", "work"), "value")


def test_patch_path_plain_and_urn() -> None:
    assert parse_patch_path("name.familyName") == PatchPath(p("name", "familyName"), None, None)
    assert parse_patch_path(f"{ENTERPRISE}:manager.value") == PatchPath(p("manager", "value", urn=ENTERPRISE), None, None)
    assert parse_patch_path(f'{ENTERPRISE}:manager[value eq "m"]') == PatchPath(
        p("manager", urn=ENTERPRISE), eq("value", "m"), None
    )


@pytest.mark.parametrize(
    "text",
    ["", "  ", "emails[", 'emails[type eq "work"]value', "name.familyName.x", "1abc", 'name.givenName[value eq "a"]', "a b"],
)
def test_invalid_patch_paths_are_invalid_path(text: str) -> None:
    with pytest.raises(ScimError) as caught:
        parse_patch_path(text)
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidPath")


@pytest.mark.parametrize("text", ["emails[]", 'emails[type eq]', "members[value eq 1]]", "a[b[c eq 1]]"])
def test_bad_filter_inside_patch_path_is_invalid_filter(text: str) -> None:
    with pytest.raises(ScimError) as caught:
        parse_patch_path(text)
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidFilter")


# -- evaluation --------------------------------------------------------------------------------

USER_DOC: dict[str, Any] = {
    "id": "2819c223-7f76-453a-919d-413861904646",
    "externalId": "Ext-1",
    "userName": "BJensen@example.com",
    "name": {"familyName": "Jensen", "givenName": "Barbara"},
    "title": "",
    "active": True,
    "emails": [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ],
    "phoneNumbers": [],
    "nickName": None,
    ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "26118915"}},
    "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22.000Z", "lastModified": "2011-05-13T04:42:34.120Z"},
}


def schema_case_exact(path: AttrPath) -> bool:
    return resolve_path(USER, path).target.case_exact


def matches(text: str, doc: dict[str, Any] = USER_DOC) -> bool:
    return evaluate(parse_filter(text), doc, case_exact=schema_case_exact)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "bjensen@EXAMPLE.com"', True),  # userName is not caseExact
        ('externalId eq "Ext-1"', True),
        ('externalId eq "ext-1"', False),  # externalId is caseExact
        ('id eq "2819C223-7F76-453A-919D-413861904646"', False),  # and so is id
        ('name.familyName sw "jen"', True),
        ('name.FAMILYNAME ew "SEN"', True),
        ('userName co "@example"', True),
        ('emails co "jensen.org"', True),  # a multi-valued attribute compares its value sub-attribute
        ('emails co "work"', False),
        ('emails.value eq "babs@jensen.org"', True),  # any value matches
        ('emails[type eq "home" and value co "jensen"]', True),
        ('emails[type eq "work" and value co "jensen.org"]', False),  # one value must match the whole filter
        ('emails[type eq "work"].value eq "bjensen@example.com"', True),
        ('emails[primary eq true].value sw "babs"', False),
        (f'{ENTERPRISE}:employeeNumber eq "701984"', True),
        (f'{ENTERPRISE}:manager.value eq "26118915"', True),
        (f'{ENTERPRISE}:manager[value eq "26118915"]', True),
        ('urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bj"', True),
        ("active eq true", True),
        ("active eq false", False),
        ('active eq "TRUE"', True),
        ("active eq 1", False),
        ("active ne false", True),
    ],
)
def test_evaluate_comparisons(text: str, expected: bool) -> None:
    assert matches(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("userName pr", True),
        ("title pr", False),  # empty string
        ("phoneNumbers pr", False),  # empty list
        ("nickName pr", False),  # null
        ("displayName pr", False),  # absent
        ("emails pr", True),
        ("name pr", True),
        ("title eq null", True),
        ("userName ne null", True),
    ],
)
def test_evaluate_presence(text: str, expected: bool) -> None:
    assert matches(text) is expected


def test_present_complex_value_needs_a_present_sub_attribute() -> None:
    assert not matches("name pr", {"name": {"givenName": "", "familyName": None}})
    assert not matches("emails pr", {"emails": [{}]})


def test_ne_is_the_negation_of_eq() -> None:
    # Unassigned attributes are "not equal" (RFC 7644 leaves this open; see scim.filter.evaluate).
    assert matches('displayName ne "x"')
    assert matches('emails.value ne "nobody@x"')
    assert not matches('emails.value ne "babs@jensen.org"')  # one email equals it
    assert matches('not (displayName eq "x")') is matches('displayName ne "x"')


def test_ordering_on_datetimes_is_chronological() -> None:
    assert matches('meta.lastModified gt "2011-05-13T04:42:34Z"')
    assert matches('meta.lastModified lt "2011-05-13T06:42:34+02:00"') is False
    assert matches('meta.lastModified le "2011-05-13T04:42:34.120+00:00"')
    assert matches('meta.created ge "2010-01-23T04:56:22Z"')
    assert matches('meta.created eq "2010-01-23T05:56:22+01:00"')
    # Lexicographically "2010-01-23T04:56:22.000Z" > "2010-01-23T04:56:22+01:00"; chronologically not.
    assert matches('meta.created lt "2010-01-23T04:56:22-01:00"')


def test_ordering_on_strings_and_numbers() -> None:
    assert matches('userName gt "BA"') and matches('userName lt "bk"')
    doc = {"n": 10, "tags": [{"value": 3}, {"value": 30}]}
    assert evaluate(parse_filter("n gt 9.5"), doc) and not evaluate(parse_filter("n le 9"), doc)
    assert evaluate(parse_filter("tags.value ge 30"), doc) and evaluate(parse_filter("tags lt 4"), doc)


def test_ordering_on_booleans_is_invalid() -> None:
    with pytest.raises(ScimError) as caught:
        evaluate(Comparison(p("active"), "gt", 1), USER_DOC)
    assert caught.value.scim_type == "invalidFilter"


def test_evaluate_logical_operators() -> None:
    assert matches('title pr or (userName sw "b" and not (active eq false))')
    assert not matches('not (userName sw "b") or emails[type eq "other"]')


def test_patch_value_filter_evaluates_one_element() -> None:
    element = {"value": "Babs@Jensen.org", "type": "home"}
    assert evaluate(parse_patch_path('emails[value eq "babs@jensen.org"]').value_filter, element)  # type: ignore[arg-type]


# -- SQL translation regressions (directory.filtering, over HTTP) ----------------------------------


def _ids(scim: Any, flt: str, endpoint: str = "/Users") -> set[str]:
    from urllib.parse import urlencode

    response = scim.get(f"{endpoint}?" + urlencode({"filter": flt, "count": 100}))
    assert response.status == 200, response.body
    return {r["id"] for r in response["Resources"]}


@pytest.mark.django_db
def test_sql_compares_timestamps_as_rendered(scim: Any) -> None:
    user = scim.create_user("ada@acme.test").body
    stamp = user["meta"]["lastModified"]
    assert _ids(scim, f'meta.lastModified eq "{stamp}"') == {user["id"]}
    assert _ids(scim, f'meta.lastModified gt "{stamp}"') == set()
    assert _ids(scim, f'meta.lastModified le "{stamp[:19]}"') == set()  # no offset: UTC


@pytest.mark.django_db
def test_sql_id_is_case_exact_but_group_values_are_not(scim: Any) -> None:
    user = scim.create_user("ada@acme.test").body
    group = scim.create_group("Team", [user["id"]]).body
    assert _ids(scim, f'id eq "{user["id"].upper()}"') == set()
    assert _ids(scim, f'id eq "urn:uuid:{user["id"]}"') == set()
    assert _ids(scim, f'groups.value eq "{group["id"].upper()}"') == {user["id"]}
    assert _ids(scim, f'members.value eq "{user["id"].upper()}"', "/Groups") == {group["id"]}


@pytest.mark.django_db
def test_sql_ne_on_multi_valued_attributes_negates_eq(scim: Any) -> None:
    ada = scim.create_user("ada@acme.test", emails=[{"value": "a@x.test"}, {"value": "b@x.test"}]).body
    bob = scim.create_user("bob@acme.test").body
    assert _ids(scim, 'emails.value ne "a@x.test"') == {bob["id"]}
    assert _ids(scim, "emails.value eq null") == {bob["id"]}
    assert _ids(scim, 'emails[type lt "zzz"]') == set()  # absent types are unassigned, not ""
    group = scim.create_group("Team", [ada["id"]]).body
    assert _ids(scim, f'groups.value ne "{group["id"]}"') == {bob["id"]}


@pytest.mark.django_db
def test_sql_present_on_singular_complex_attributes(scim: Any) -> None:
    ada = scim.create_user("ada@acme.test", name={"givenName": "Ada"}).body
    scim.create_user("bob@acme.test", name={"givenName": ""})
    assert _ids(scim, "name pr") == {ada["id"]}


@pytest.mark.django_db
def test_sql_long_or_chain_is_not_a_recursion_error(scim: Any) -> None:
    ada = scim.create_user("ada@acme.test").body
    flt = " or ".join(f'userName eq "u{i}@x"' for i in range(400)) + ' or userName eq "ada@acme.test"'
    assert len(flt) < 10_000 and _ids(scim, flt) == {ada["id"]}
