"""The request log keeps no secret in any path form, stores what PostgreSQL cannot, and logs safely."""

from __future__ import annotations

import json
import logging

import pytest

from scim_api.models import RequestLog
from scim_api.redaction import REDACTED, SECRET_ATTRIBUTES, redact, redact_query
from tests.support.scim_client import PATCH_OP, USER_SCHEMA

pytestmark = pytest.mark.django_db
SECRET = "Tr0ub4dor&3-correct-horse"


def _logged_text() -> str:
    return json.dumps(list(RequestLog.objects.values("request_body", "query", "path", "error_detail")))


def test_passwords_are_found_by_the_schema():
    assert "password" in SECRET_ATTRIBUTES


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "password", "value": SECRET},
        {"op": "replace", "path": "PASSWORD", "value": SECRET},
        {"op": "replace", "path": f"{USER_SCHEMA}:password", "value": SECRET},
        {"op": "replace", "value": {"password": SECRET}},
        {"op": "replace", "value": {f"{USER_SCHEMA}:password": SECRET}},
        {"op": "Replace", "path": "Password", "value": SECRET},
    ],
)
def test_a_password_in_any_patch_form_never_reaches_the_request_log(scim, operation):
    user = scim.create_user("pw@acme.test")
    r = scim.patch(f"/Users/{user['id']}", {"schemas": [PATCH_OP], "Operations": [operation]})
    assert r.status in (200, 204), r.body
    assert SECRET not in _logged_text()
    assert REDACTED in _logged_text()


def test_a_password_inside_bulk_never_reaches_the_request_log(scim):
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a",
             "data": {"schemas": [USER_SCHEMA], "userName": "bulk@acme.test", "password": SECRET}},
            {"method": "PATCH", "path": "/Users/bulkId:a",
             "data": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "password", "value": SECRET}]}},
        ],
    }
    assert scim.post("/Bulk", body).status == 200
    assert SECRET not in _logged_text()


def test_credentials_in_the_query_string_are_redacted(scim):
    scim.get(f"/Users?access_token={SECRET}&count=1")
    row = RequestLog.objects.get()
    assert SECRET not in row.query and "count=1" in row.query
    assert redact_query("token=a&x=1") == f"token={REDACTED.replace('[', '%5B').replace(']', '%5D')}&x=1"


def test_redaction_keeps_everything_else():
    body = {"userName": "a", "emails": [{"value": "a@x"}], "name": {"givenName": "A"}}
    assert redact(body) == body


def test_a_request_the_database_could_not_store_still_gets_its_row(scim):
    r = scim.request("GET", "/Users?filter=userName%20eq%20%22a%00b%22")
    assert r.status == 400
    row = RequestLog.objects.get()
    assert "\x00" not in row.query


def test_a_newline_in_the_path_of_a_failing_request_cannot_forge_a_log_line(scim, caplog, monkeypatch):
    from scim_api import endpoints

    def explode(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    monkeypatch.setattr(endpoints.UserEndpoint, "get", explode)  # an internal failure, injected
    with caplog.at_level(logging.ERROR, logger="scim_api.views"):
        r = scim.get("/Users/x%0A2026-12-01 INFO FORGED admin logged in")
    assert r.status == 500 and r.body["status"] == "500"
    messages = [record.getMessage() for record in caplog.records]
    assert messages and all("\n" not in m for m in messages)
    assert any("FORGED" in m for m in messages)  # the path is there, escaped on the same line
