"""The request explainer: every auth_failure value and the wrong-path cases get a title and a fix."""

from __future__ import annotations

import pytest

from portal.explain import explain_request
from scim_api.models import AUTH_FAILURES

LABELS = {"token_field": "Secret Token", "url_field": "Tenant URL"}


@pytest.mark.parametrize("failure", AUTH_FAILURES)
def test_every_auth_failure_has_its_own_title_and_a_fix(failure: str) -> None:
    explanation = explain_request({"status": 401, "method": "GET", "path": "/scim/v2/c/Users", "auth_failure": failure}, **LABELS)
    assert explanation.tone == "error" and explanation.title and explanation.fix
    assert explanation.title != "Authentication failed"


def test_auth_failure_titles_are_distinct() -> None:
    titles = {explain_request({"status": 401, "auth_failure": f}).title for f in AUTH_FAILURES}
    assert len(titles) == len(AUTH_FAILURES)


@pytest.mark.parametrize(
    ("failure", "needle"),
    [
        ("missing_header", "Paste the token into Secret Token"),
        ("bearer_doubled", 'Remove "Bearer " from Secret Token'),
        ("not_bearer", "Authorization: Bearer <token>"),
        ("unknown_token", "Generate a new token in step 3"),
        ("revoked_token", "paste it into Secret Token"),
        ("expired_token", "newest token"),
        ("other_connection_token", "Tenant URL and Secret Token"),
        ("connection_disabled", "Turn it on again"),
        ("tenant_suspended", "support"),
    ],
)
def test_fixes_use_the_idps_own_field_names(failure: str, needle: str) -> None:
    assert needle in explain_request({"status": 401, "auth_failure": failure}, **LABELS).fix


def test_an_unclassified_401_still_gets_a_fix() -> None:
    explanation = explain_request({"status": 401, "auth_failure": ""}, **LABELS)
    assert explanation.title == "Authentication failed" and "Secret Token" in explanation.fix


@pytest.mark.parametrize("path", ["/scim/v2/abc/Users/Users", "/scim/v2/abc/Groups/Groups/123", "/scim/v2/abc/Users/Groups"])
def test_base_url_with_users_appended_is_explained(path: str) -> None:
    explanation = explain_request({"status": 404, "method": "GET", "path": path}, **LABELS)
    assert "/Users or /Groups at the end" in explanation.title and "Remove them from Tenant URL" in explanation.fix


def test_base_url_pasted_twice_is_explained() -> None:
    explanation = explain_request({"status": 404, "method": "GET", "path": "/scim/v2/abc/scim/v2/abc/Users"}, **LABELS)
    assert explanation.title == "The SCIM path appears twice"


def test_an_unknown_endpoint_is_a_wrong_path() -> None:
    explanation = explain_request({"status": 404, "method": "GET", "path": "/scim/v2/abc/Userz"}, **LABELS)
    assert explanation.title == "Wrong path" and "Tenant URL" in explanation.fix


def test_a_missing_resource_is_a_warning_not_a_setup_error() -> None:
    explanation = explain_request({"status": 404, "method": "GET", "path": "/scim/v2/abc/Users/42", "resource_id": "42"})
    assert explanation.tone == "warning"


def test_a_rejected_request_shows_the_scim_detail() -> None:
    explanation = explain_request({"status": 400, "scim_type": "invalidValue", "error_detail": "userName is required"})
    assert explanation.title == "Rejected (invalidValue)" and explanation.fix == "userName is required"


@pytest.mark.parametrize(
    ("method", "path", "title"),
    [
        ("POST", "/scim/v2/abc/Users", "User created"),
        ("PATCH", "/scim/v2/abc/Users/42", "User updated"),
        ("PUT", "/scim/v2/abc/Groups/7", "Group updated"),
        ("DELETE", "/scim/v2/abc/Groups/7", "Group deleted"),
        ("GET", "/scim/v2/abc/Users", "Users listed"),
        ("GET", "/scim/v2/abc/Users/42", "User read"),
        ("GET", "/scim/v2/abc/ServiceProviderConfig", "Answered"),
    ],
)
def test_successes_say_what_happened_without_a_fix(method: str, path: str, title: str) -> None:
    explanation = explain_request({"status": 200, "method": method, "path": path})
    assert (explanation.title, explanation.fix, explanation.tone) == (title, "", "ok")


def test_server_errors_say_nothing_was_applied() -> None:
    assert "nothing was applied" in explain_request({"status": 500}).fix
