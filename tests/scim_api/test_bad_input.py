"""Bad input is a 4xx SCIM error with the right scimType, never a 500, and nothing is applied."""

from __future__ import annotations

import json

import pytest

from directory.models import DirectoryUser
from scim_api.models import RequestLog
from tests.support.outbox import capture_outbox
from tests.support.scim_client import ENTERPRISE, PATCH_OP, USER_SCHEMA

pytestmark = pytest.mark.django_db
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def _error(r, status: int, scim_type: str | None = None) -> None:  # type: ignore[no-untyped-def]
    assert r.status == status, (r.status, r.body)
    assert r.headers["Content-Type"] == "application/scim+json"
    assert r["schemas"] == [ERROR] and r["status"] == str(status)
    if scim_type is not None:
        assert r.body.get("scimType") == scim_type, r.body


def test_a_nul_character_anywhere_in_a_write_body_is_invalid_value(scim):
    with capture_outbox(expected=0):
        r = scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "nul@acme.test", "ignoredThing": "a\u0000b"})
    _error(r, 400, "invalidValue")
    assert not DirectoryUser.objects.exists()
    assert RequestLog.objects.get().status == 400  # the rejected request still has its row


def test_a_nul_character_in_the_connection_id_is_a_plain_401(scim):
    r = scim.get(f"/scim/v2/{scim.connection_id}%00/Users")
    _error(r, 401)


@pytest.mark.parametrize("field", ["userName", "displayName", "externalId"])
def test_strings_longer_than_their_column_are_invalid_value(scim, field):
    body = {"schemas": [USER_SCHEMA], "userName": "long@acme.test", field: "x" * 600}
    r = scim.post("/Users", body)
    if field == "displayName":  # a mapped app field: kept whole in the document, cut in its column
        assert r.status == 201
        assert len(DirectoryUser.objects.get().display_name) == 512
    else:
        _error(r, 400, "invalidValue")


def test_a_group_display_name_longer_than_its_column_is_invalid_value(scim):
    _error(scim.create_group("g" * 600), 400, "invalidValue")


def test_bodies_between_django_and_scim_limits_are_413_scim_errors(scim, settings):
    settings.SCIM_MAX_BODY = 1_000_000
    body = json.dumps({"schemas": [USER_SCHEMA], "userName": "big@acme.test", "title": "x" * 1_100_000})
    _error(scim.request("POST", "/Users", raw=body), 413)


def test_json_nested_deeper_than_any_scim_body_is_invalid_syntax(scim):
    nested: object = "leaf"
    for _ in range(600):
        nested = {"a": nested}
    body = json.dumps({"schemas": [USER_SCHEMA], "userName": "deep@acme.test", "x": nested})
    _error(scim.request("POST", "/Users", raw=body), 400, "invalidSyntax")
    bulk = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [{"data": nested}]})
    _error(scim.request("POST", "/Bulk", raw=bulk), 400, "invalidSyntax")


@pytest.mark.parametrize("start", [str(2**63), str(2**64 + 7), "9" * 30])
def test_a_huge_start_index_is_an_empty_page(scim, start):
    scim.create_user("one@acme.test")
    r = scim.get(f"/Users?startIndex={start}")
    assert r.status == 200 and r["totalResults"] == 1 and r["Resources"] == []
    search = scim.post("/Users/.search", {"startIndex": int(start)})
    assert search.status == 200 and search["Resources"] == []


def test_an_integer_start_index_with_thousands_of_digits_is_invalid_value(scim):
    _error(scim.get("/Users?startIndex=" + "9" * 5000), 400, "invalidValue")


def test_an_integer_filter_literal_with_thousands_of_digits_is_invalid_filter(scim):
    r = scim.get(f"/Users?filter={ENTERPRISE}:employeeNumber gt " + "9" * 4400)
    _error(r, 400, "invalidFilter")


@pytest.mark.parametrize(
    "instant", ["9999-12-31T23:59:59.9999Z", "9999-12-31T23:59:59.999999+00:00", "0001-01-01T00:00:00Z"]
)
@pytest.mark.parametrize("op", ["eq", "ne", "gt", "ge", "lt", "le"])
def test_datetimes_at_the_ends_of_the_calendar_filter_without_error(scim, instant, op):
    scim.create_user("cal@acme.test")
    r = scim.get(f'/Users?filter=meta.lastModified {op} "{instant.replace("+", "%2B")}"')
    assert r.status == 200, r.body


def test_a_bulk_operation_version_that_is_not_a_string_is_invalid_syntax(scim):
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "DELETE", "path": "/Users/x", "version": {"etag": 1}}],
    }
    _error(scim.post("/Bulk", body), 400, "invalidSyntax")


def test_a_patch_with_more_operations_than_the_cap_is_refused_and_changes_nothing(scim, settings):
    settings.SCIM_PATCH_MAX_OPERATIONS = 10
    user = scim.create_user("ops@acme.test")
    ops = [{"op": "replace", "path": "title", "value": f"t{i}"} for i in range(11)]
    with capture_outbox(expected=0):
        r = scim.patch(f"/Users/{user['id']}", {"schemas": [PATCH_OP], "Operations": ops})
    _error(r, 413, "tooMany")
    assert DirectoryUser.objects.get().title == ""


def test_a_multi_valued_attribute_holds_at_most_a_hundred_values(scim):
    emails = [{"value": f"e{i}@acme.test"} for i in range(101)]
    _error(scim.create_user("many@acme.test", emails=emails), 400, "invalidValue")
    user = scim.create_user("some@acme.test", emails=emails[:100])
    r = scim.patch_ops(f"/Users/{user['id']}", {"op": "add", "path": "emails", "value": [{"value": "x@acme.test"}]})
    _error(r, 400, "invalidValue")


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_a_body_of_another_media_type_is_415(scim, content_type):
    body = json.dumps({"schemas": [USER_SCHEMA], "userName": "ct@acme.test"})
    with capture_outbox(expected=0):
        r = scim.request("POST", "/Users", raw=body, content_type=content_type)
    _error(r, 415)


@pytest.mark.parametrize("content_type", ["application/scim+json", "application/json; charset=utf-8", "application/scim+json;charset=UTF-8"])
def test_json_media_types_with_a_charset_are_accepted(scim, content_type):
    body = json.dumps({"schemas": [USER_SCHEMA], "userName": f"ok{len(content_type)}@acme.test"})
    assert scim.request("POST", "/Users", raw=body, content_type=content_type).status == 201


def test_a_chunked_body_without_content_length_is_411(scim):
    r = scim.request("POST", "/Users", raw=b"", headers={"Transfer-Encoding": "chunked", "CONTENT_LENGTH": ""})
    _error(r, 411)


@pytest.mark.parametrize("path", ["/scim/v2/", "/scim/", "/scim/v1/abc/Users", "/scim/nothing/here"])
def test_every_answer_under_scim_is_a_scim_error_document(scim, path):
    r = scim.get(path)
    _error(r, 404)
