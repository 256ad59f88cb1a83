"""Fuzzing the SCIM surface over HTTP: arbitrary bodies, filters and query strings never answer 5xx,
and every error is a SCIM error document."""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.scim_client import ENTERPRISE, GROUP_SCHEMA, PATCH_OP, USER_SCHEMA

pytestmark = pytest.mark.django_db
FUZZ = settings(max_examples=int(os.environ.get("ROLLCALL_FUZZ_EXAMPLES", "60")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

ATTRIBUTES = [
    "userName", "name", "name.givenName", "displayName", "emails", "emails.value", 'emails[type eq "work"].value',
    "active", "password", "title", "members", 'members[value eq "x"]', "externalId", "id", "meta", "groups",
    f"{ENTERPRISE}:manager", f"{ENTERPRISE}:employeeNumber", ENTERPRISE, "phoneNumbers", "x509Certificates",
    "schemas", "urn:bogus:x", "", "[", "]", "..", "emails[", "value",
]
text = st.text(max_size=20)
scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | text
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(ATTRIBUTES) | text, children, max_size=4),
    max_leaves=20,
)
operations = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "remove", "replace", "Add", "Replace", "move", ""])},
    optional={"path": st.sampled_from(ATTRIBUTES) | text, "value": json_values},
)
FILTER_WORDS = [
    "userName", "emails", "emails.value", "meta.created", "active", "displayName", "members", "members.value",
    f"{ENTERPRISE}:employeeNumber", "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "and", "or", "not",
    "(", ")", "[", "]", '"x"', '"2011-05-13T04:42:34Z"', "true", "null", "42", "1e400", '"\\u0000"', "type", ".",
]
filters = st.lists(st.sampled_from(FILTER_WORDS) | text, min_size=1, max_size=12).map(" ".join)
PARAMS = ["filter", "startIndex", "count", "sortBy", "sortOrder", "attributes", "excludedAttributes", "cursor", "x"]
query_strings = st.lists(st.tuples(st.sampled_from(PARAMS), text | st.integers().map(str)), max_size=5)


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):  # type: ignore[no-untyped-def]
    """Thousands of requests in seconds are the point here, not what the rate limits are for."""
    settings.ROLLCALL_SCIM_RATE_PER_CONNECTION = 10**9
    settings.ROLLCALL_SCIM_RATE_PER_IP = 10**9


def _check(response: Any) -> None:
    assert response.status < 500, (response.status, response.body)
    if response.status >= 400:
        assert response.headers["Content-Type"] == "application/scim+json"
        assert response.body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


@FUZZ
@given(body=json_values)
def test_arbitrary_user_and_group_bodies_never_answer_5xx(scim, body):
    _check(scim.request("POST", "/Users", raw=json.dumps(body)))
    if isinstance(body, dict):
        _check(scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "fuzz@acme.test", **body}))
        _check(scim.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Fuzz", **body}))


@FUZZ
@given(ops=st.lists(operations, max_size=5), raw=json_values)
def test_arbitrary_patches_never_answer_5xx(scim, ops, raw):
    user = scim.create_user("patched@acme.test")
    user_id = user["id"] if user.status == 201 else scim.get('/Users?filter=userName eq "patched@acme.test"')["Resources"][0]["id"]
    _check(scim.patch(f"/Users/{user_id}", {"schemas": [PATCH_OP], "Operations": ops}))
    _check(scim.request("PATCH", f"/Users/{user_id}", raw=json.dumps(raw)))
    group = scim.create_group("Patched")
    if group.status == 201:
        _check(scim.patch(f"/Groups/{group['id']}", {"schemas": [PATCH_OP], "Operations": ops}))


@FUZZ
@given(operations=st.lists(st.dictionaries(st.sampled_from(["method", "path", "bulkId", "data", "version"]), json_values), max_size=4))
def test_arbitrary_bulk_requests_never_answer_5xx(scim, operations):
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": operations}
    _check(scim.post("/Bulk", body))


@FUZZ
@given(expression=filters)
def test_arbitrary_filters_never_answer_5xx(scim, expression):
    _check(scim.get("/Users?filter=" + quote(expression)))
    _check(scim.get("/Groups?filter=" + quote(expression)))
    _check(scim.post("/.search", {"filter": expression}))


@FUZZ
@given(pairs=query_strings, path=st.sampled_from(["/Users", "/Groups", "/ServiceProviderConfig", "/Schemas", "/Users/x"]))
def test_arbitrary_query_strings_never_answer_5xx(scim, pairs, path):
    query = "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)
    _check(scim.get(f"{path}?{query}"))
