"""GET /api/v1/events: API-key auth, seq order, opaque cursors, limits, tenant isolation, OpenAPI."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from outbox.models import Event
from provisioning.api import decode_cursor, encode_cursor
from tenants.context import tenant_schema
from tenants.models import ApiKey, Tenant
from tenants.services import create_api_key
from tests.provisioning.support import make_user
from tests.support.actors import TEST_ACTOR

pytestmark = pytest.mark.django_db


def get(key: str | None, **params: str | int):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return Client().get("/api/v1/events", params, headers=headers)


@pytest.fixture
def acme_key(tenant_a) -> str:
    return create_api_key(tenant=tenant_a, label="tests", actor=TEST_ACTOR)


@pytest.fixture
def acme_events(acme) -> list[int]:
    with tenant_schema(acme):
        for i in range(7):
            make_user(f"u{i}@acme.test")
        return list(Event.objects.order_by("seq").values_list("seq", flat=True))


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Basic dXNlcjpwYXNz", "Bearer rck_nothex_xyz", "Bearer rck_0123456789abcdef_wrongsecret"],
)
def test_missing_or_invalid_keys_get_a_401_json_error(header, acme_key):
    headers = {"HTTP_AUTHORIZATION": header} if header else {}
    response = Client().get("/api/v1/events", **headers)
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "unauthorized", "message": "a valid API key is required"}}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_key_or_a_tampered_secret_is_refused(acme_key, acme_events):
    assert get(acme_key).status_code == 200
    assert get(acme_key[:-2] + "xx").status_code == 401
    ApiKey.objects.update(revoked_at=timezone.now())
    assert get(acme_key).status_code == 401


def test_suspended_tenants_key_is_refused(acme_key, tenant_a):
    Tenant.objects.filter(id=tenant_a.id).update(status=Tenant.Status.SUSPENDED)
    assert get(acme_key).status_code == 401


def test_pages_through_events_in_seq_order_with_opaque_cursors(acme_key, acme_events, acme):
    first = get(acme_key, limit=3).json()
    assert [e["seq"] for e in first["data"]] == acme_events[:3]
    assert first["has_more"] is True
    event = first["data"][0]
    assert set(event) == {"id", "seq", "type", "occurred_at", "data"}
    assert event["id"] == f"{acme.slug}:{acme_events[0]}" and event["type"] == "user.created"
    assert event["data"]["user"]["user_name"] == "u0@acme.test"
    assert str(acme_events[2]) not in first["next_cursor"]  # opaque, not a bare number

    second = get(acme_key, after=first["next_cursor"], limit=3).json()
    assert [e["seq"] for e in second["data"]] == acme_events[3:6]
    last = get(acme_key, after=second["next_cursor"], limit=3).json()
    assert [e["seq"] for e in last["data"]] == acme_events[6:]
    assert last["has_more"] is False
    caught_up = get(acme_key, after=last["next_cursor"]).json()
    assert caught_up == {"data": [], "next_cursor": last["next_cursor"], "has_more": False}

    with tenant_schema(acme):
        make_user("late@acme.test")  # a poller resumes from the cursor it already holds
    assert [e["data"]["user"]["user_name"] for e in get(acme_key, after=last["next_cursor"]).json()["data"]] == [
        "late@acme.test"
    ]


def test_default_limit_is_50(acme_key, acme):
    with tenant_schema(acme):
        for i in range(55):
            make_user(f"bulk{i}@acme.test")
    body = get(acme_key).json()
    assert len(body["data"]) == 50 and body["has_more"] is True


@pytest.mark.parametrize("after", ["abc", "", "djE6LTE", encode_cursor(1) + "!!", "MTIz", "x" * 100])
def test_bad_cursor_is_a_400(acme_key, after):
    response = get(acme_key, after=after)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("limit", [0, 101, -1, "ten"])
def test_limit_outside_1_to_100_is_a_400(acme_key, limit):
    response = get(acme_key, limit=limit)
    assert response.status_code == 400
    assert "limit" in response.json()["error"]["message"]


def test_a_key_sees_only_its_own_tenants_events(acme_events, tenant_b, bravo):
    with tenant_schema(bravo):
        make_user("x@bravo.test")
    bravo_key = create_api_key(tenant=tenant_b, actor=TEST_ACTOR)
    body = get(bravo_key, limit=100).json()
    assert [e["data"]["user"]["user_name"] for e in body["data"]] == ["x@bravo.test"]
    assert all(e["id"].startswith(f"{bravo.slug}:") for e in body["data"])


def test_cursor_round_trip():
    for seq in (0, 1, 42, 10**12):
        assert decode_cursor(encode_cursor(seq)) == seq


def test_openapi_schema_documents_the_events_endpoint():
    response = Client().get("/api/v1/schema", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    operation = schema["paths"]["/api/v1/events"]["get"]
    assert operation["operationId"] == "list_events"
    assert {p["name"] for p in operation["parameters"]} == {"after", "limit"}
    assert {"200", "400", "401"} <= set(operation["responses"])
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    page = schema["components"]["schemas"]["EventsPage"]["properties"]
    assert set(page) == {"data", "next_cursor", "has_more"}
