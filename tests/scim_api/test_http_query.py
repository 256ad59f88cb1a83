"""Listing over HTTP: filters compiled to SQL, pagination, sorting, projection, .search."""

from __future__ import annotations

import pytest

from tests.support.scim_client import ENTERPRISE

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(scim):
    specs = [
        ("ada@acme.test", "Ada", "Lovelace", "Engineer", "R&D", [("ada@acme.test", "work"), ("ada@home.test", "home")], True),
        ("bob@acme.test", "Bob", "Builder", "Manager", "Ops", [("bob@acme.test", "work")], True),
        ("cy@other.test", "Cy", "Young", None, "R&D", [("cy@other.test", "work")], False),
        ("dee@acme.test", "Dee", "O'Malley", "Intern", None, [], True),
    ]
    ids = {}
    for user_name, given, family, title, dept, emails, active in specs:
        body = {
            "userName": user_name,
            "name": {"givenName": given, "familyName": family},
            "emails": [{"value": v, "type": t, "primary": i == 0} for i, (v, t) in enumerate(emails)],
            "active": active,
            "externalId": f"ext-{given.lower()}",
        }
        if title:
            body["title"] = title
        if dept:
            body[ENTERPRISE] = {"department": dept}
            body["schemas"] = ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]
        ids[given] = scim.post("/Users", body)["id"]
    return ids


def names(response):
    return sorted(r["name"]["givenName"] for r in response["Resources"]) if response["totalResults"] else []


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ('userName eq "ADA@acme.test"', ["Ada"]),
        ('userName Eq "bob@acme.test"', ["Bob"]),
        ('USERNAME sw "c"', ["Cy"]),
        ('userName ew "@acme.test"', ["Ada", "Bob", "Dee"]),
        ('userName co "other"', ["Cy"]),
        ('userName ne "ada@acme.test"', ["Bob", "Cy", "Dee"]),
        ('name.familyName co "O\'Malley"', ["Dee"]),
        ("title pr", ["Ada", "Bob", "Dee"]),
        ("not (title pr)", ["Cy"]),
        ('title pr and title eq "intern"', ["Dee"]),
        ('title eq "Engineer" or title eq "Manager"', ["Ada", "Bob"]),
        ('not (title eq "Engineer")', ["Bob", "Cy", "Dee"]),
        ("active eq false", ["Cy"]),
        ("active eq true and not (userName sw \"a\")", ["Bob", "Dee"]),
        ('emails[type eq "work" and value co "@acme"]', ["Ada", "Bob"]),
        ('emails[type eq "home"]', ["Ada"]),
        ('emails.value eq "ada@home.test"', ["Ada"]),
        ('emails co "other.test"', ["Cy"]),
        ('emails[type eq "work"].value eq "bob@acme.test"', ["Bob"]),
        ("emails pr", ["Ada", "Bob", "Cy"]),
        (f'{ENTERPRISE}:department eq "r&d"', ["Ada", "Cy"]),
        ('urn:ietf:params:scim:schemas:core:2.0:User:userName sw "d"', ["Dee"]),
        ('externalId eq "ext-bob"', ["Bob"]),
        ('externalId eq "EXT-BOB"', []),
        (f'schemas eq "{ENTERPRISE}"', ["Ada", "Bob", "Cy"]),
        ('(title eq "Engineer" or title eq "Intern") and emails pr', ["Ada"]),
        ('meta.resourceType eq "User"', ["Ada", "Bob", "Cy", "Dee"]),
        ('meta.created gt "2000-01-01T00:00:00Z"', ["Ada", "Bob", "Cy", "Dee"]),
        ('meta.lastModified lt "2000-01-01T00:00:00Z"', []),
    ],
)
def test_filters(scim, people, flt, expected):
    r = scim.request("GET", "/Users?" + _qs(flt))
    assert r.status == 200, r.body
    assert names(r) == expected


def _qs(flt: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"filter": flt})


def test_filter_by_id_and_group_membership(scim, people):
    g = scim.create_group("Team", [people["Ada"]])
    r = scim.request("GET", "/Users?" + _qs(f'id eq "{people["Bob"]}"'))
    assert names(r) == ["Bob"]
    r = scim.request("GET", "/Users?" + _qs(f'groups.value eq "{g["id"]}"'))
    assert names(r) == ["Ada"]
    r = scim.request("GET", "/Groups?" + _qs(f'members[value eq "{people["Ada"]}"]') + "&excludedAttributes=members")
    assert r["totalResults"] == 1 and "members" not in r["Resources"][0]
    r = scim.request("GET", "/Groups?" + _qs(f'id eq "{g["id"]}" and members.value eq "{people["Bob"]}"'))
    assert r["totalResults"] == 0


@pytest.mark.parametrize(
    "flt",
    ['userName eq', 'userName xx "a"', "(userName eq \"a\"", 'nosuch eq "a"', 'active gt true', 'userName eq bare', 'password eq "x"'],
)
def test_invalid_filters_are_400_invalid_filter(scim, people, flt):
    r = scim.request("GET", "/Users?" + _qs(flt))
    assert r.status == 400
    assert r["scimType"] == "invalidFilter"


def test_no_match_is_200_with_zero_results(scim, people):
    r = scim.request("GET", "/Users?" + _qs('userName eq "nobody@x"'))
    assert r.status == 200
    assert r["totalResults"] == 0
    assert r["Resources"] == []


def test_pagination_is_stable_and_counts_are_integers(scim, people):
    first = scim.get("/Users?startIndex=1&count=2")
    second = scim.get("/Users?startIndex=3&count=2")
    assert first["totalResults"] == 4 and first["itemsPerPage"] == 2 and first["startIndex"] == 1
    assert second["startIndex"] == 3 and second["itemsPerPage"] == 2
    ids = [r["id"] for r in first["Resources"] + second["Resources"]]
    assert len(set(ids)) == 4
    beyond = scim.get("/Users?startIndex=9&count=2")
    assert beyond["totalResults"] == 4 and beyond["itemsPerPage"] == 0


def test_count_zero_returns_only_total(scim, people):
    r = scim.get("/Users?count=0")
    assert r["totalResults"] == 4
    assert r["itemsPerPage"] == 0


def test_negative_and_oversized_counts_are_clamped(scim, people, settings):
    settings.SCIM_MAX_RESULTS = 3
    assert scim.get("/Users?count=-5")["itemsPerPage"] == 0
    assert scim.get("/Users?count=500")["itemsPerPage"] == 3
    assert scim.get("/Users?startIndex=0&count=1")["startIndex"] == 1


def test_non_integer_count_is_400(scim, people):
    r = scim.get("/Users?count=many")
    assert r.status == 400


def test_sort_by_username_descending_and_by_name(scim, people):
    r = scim.get("/Users?sortBy=userName&sortOrder=descending")
    assert [x["userName"] for x in r["Resources"]] == ["dee@acme.test", "cy@other.test", "bob@acme.test", "ada@acme.test"]
    r = scim.get("/Users?sortBy=name.familyName")
    assert [x["name"]["familyName"] for x in r["Resources"]] == ["Builder", "Lovelace", "O'Malley", "Young"]
    r = scim.get("/Users?sortBy=emails")
    assert r["Resources"][0]["userName"] in {"dee@acme.test", "ada@acme.test"}


def test_list_projection(scim, people):
    r = scim.get("/Users?attributes=userName&count=1")
    assert set(r["Resources"][0]) <= {"id", "userName", "schemas", "meta"}
    r = scim.get("/Users?excludedAttributes=emails,name&count=1")
    assert "emails" not in r["Resources"][0] and "name" not in r["Resources"][0]


def test_search_endpoint_posts_a_search_request(scim, people):
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": 'userName sw "b"',
        "attributes": ["userName"],
        "startIndex": 1,
        "count": 10,
    }
    r = scim.post("/Users/.search", body)
    assert r.status == 200
    assert [x["userName"] for x in r["Resources"]] == ["bob@acme.test"]


def test_root_search_spans_users_and_groups(scim, people):
    scim.create_group("Everyone")
    r = scim.post("/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]})
    assert r.status == 200
    assert r["totalResults"] == 5
    types = {x["meta"]["resourceType"] for x in r["Resources"]}
    assert types == {"User", "Group"}


def test_root_search_by_user_name_finds_the_users_and_skips_groups(scim, people):
    """RFC 7644 §3.4.3: a resource type without the filtered attribute contributes nothing."""
    scim.create_group("Everyone")
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": 'userName eq "bob@acme.test"'}
    r = scim.post("/.search", body)
    assert r.status == 200, r.body
    assert r["totalResults"] == 1
    assert [(x["meta"]["resourceType"], x["userName"]) for x in r["Resources"]] == [("User", "bob@acme.test")]


def test_root_search_by_group_attribute_finds_only_groups(scim, people):
    scim.create_group("Everyone", [people["Ada"]])
    r = scim.post("/.search", {"filter": "members pr"})
    assert r.status == 200, r.body
    assert [x["displayName"] for x in r["Resources"]] == ["Everyone"]


def test_root_search_with_an_attribute_no_type_has_is_invalid_filter(scim, people):
    r = scim.post("/.search", {"filter": 'shoeSize eq "42"'})
    assert r.status == 400
    assert r["scimType"] == "invalidFilter"


def test_unknown_query_parameters_and_dangling_separators_are_ignored(scim, people):
    r = scim.request("GET", "/Users?" + _qs('userName eq "ada@acme.test"') + "&aadOptscim062020&")
    assert r.status == 200
    assert r["totalResults"] == 1


def test_group_filters(scim, people):
    scim.create_group("Engineering", [people["Ada"], people["Bob"]], externalId="eng")
    scim.create_group("Sales")
    r = scim.request("GET", "/Groups?" + _qs('displayName eq "engineering"') + "&excludedAttributes=members")
    assert r["totalResults"] == 1
    r = scim.request("GET", "/Groups?" + _qs('externalId eq "eng"'))
    assert r["Resources"][0]["displayName"] == "Engineering"
    assert scim.request("GET", "/Groups?" + _qs("members pr"))["totalResults"] == 1
    assert scim.request("GET", "/Groups?" + _qs('members[type eq "User" and value eq "' + people["Bob"] + '"]'))["totalResults"] == 1
    assert scim.get("/Groups?sortBy=displayName&sortOrder=descending")["Resources"][0]["displayName"] == "Sales"
