"""Every request is logged (redacted) and every change appends ordered outbox events atomically."""

from __future__ import annotations

import pytest

from outbox.models import Event
from scim_api.models import RequestLog
from tests.support.outbox import capture_outbox
from tests.support.scim_client import PATCH_OP

pytestmark = pytest.mark.django_db


def test_requests_are_logged_with_status_latency_and_redacted_body(scim):
    r = scim.create_user("log@acme.test", password="hunter2-hunter2")
    bad = scim.get('/Users?filter=userName eq')
    entries = list(RequestLog.objects.order_by("id"))
    assert [(e.method, e.status) for e in entries] == [("POST", 201), ("GET", 400)]
    first = entries[0]
    assert first.request_body is not None and first.request_body["password"] == "[redacted]"
    assert "hunter2" not in str(first.request_body)
    assert first.resource_type == "User" and first.resource_id == r["id"]
    assert first.latency_ms > 0
    assert entries[1].scim_type == "invalidFilter" and bad.status == 400


def test_quirks_are_recorded_in_the_log(scim):
    u = scim.create_user("quirk@acme.test")
    scim.patch(f"/Users/{u['id']}", {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})
    entry = RequestLog.objects.order_by("-id")[0]
    assert "op_capitalised" in entry.quirks and "string_boolean" in entry.quirks


def test_event_sequence_is_gap_free_and_ordered(scim):
    u = scim.create_user("seq@acme.test")
    g = scim.create_group("Seq", [u["id"]])
    scim.patch_ops(f"/Users/{u['id']}", {"op": "replace", "path": "active", "value": False})
    scim.delete(f"/Groups/{g['id']}")
    events = list(Event.objects.order_by("seq").values_list("seq", "type"))
    assert [s for s, _ in events] == list(range(1, len(events) + 1))
    assert [t for _, t in events] == [
        "user.created",
        "group.created",
        "group.member_added",
        "user.deactivated",
        "group.deleted",
    ]


def test_event_payload_is_the_mapped_app_view_and_survives_json(scim):
    with capture_outbox(expected=1) as events:  # also checks the payload survives a JSON round trip
        scim.create_user(
            "map@acme.test",
            name={"givenName": "Map", "familyName": "Ping"},
            emails=[{"value": "home@x.test", "type": "home"}, {"value": "map@acme.test", "type": "work", "primary": True}],
        )
    event = events[0]
    assert event.payload["user"]["email"] == "map@acme.test"
    assert event.payload["user"]["given_name"] == "Map"
    assert event.actor == f"scim:{scim.connection_id}"
    assert event.requested_at is not None


def test_failed_request_leaves_no_event(scim):
    scim.create_user("one@acme.test")
    with capture_outbox(expected=0):
        scim.create_user("ONE@acme.test")
        scim.post("/Users", {"displayName": "no user name"})


def test_commit_schedules_dispatch_once_per_transaction(scim, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        scim.create_group("Many", [scim.create_user(f"m{i}@acme.test")["id"] for i in range(3)])
    assert len(callbacks) == 4  # three user creates and one group create (with its member events)


def test_write_and_its_log_row_commit_together_and_a_failed_write_is_still_logged(scim):
    with capture_outbox(expected=1):
        created = scim.create_user("two@acme.test")
        duplicate = scim.create_user("TWO@acme.test")
    assert duplicate.status == 409
    rows = list(RequestLog.objects.order_by("id").values_list("method", "status", "resource_id"))
    assert rows == [("POST", 201, created["id"]), ("POST", 409, "")]


@pytest.mark.django_db(transaction=True)
def test_a_reads_log_row_commits_asynchronously_and_the_session_keeps_synchronous_commits():
    """Outside a test's own transaction, as in production: the read's row is its own transaction."""
    from django.db import connection

    from tests.support.queries import count_queries
    from tests.support.scim_client import ScimClient
    from tests.support.tenants import ensure_tenant

    client = ScimClient.for_tenant(ensure_tenant("asynclog", "Async Log Inc"))
    created = client.create_user("sync@acme.test")
    with count_queries() as queries:
        assert client.get("/Users?count=1").status == 200
    (log_insert,) = queries.touching("scim_requestlog")
    assert "set_config('synchronous_commit', 'off', true)" in log_insert
    (write_insert,) = [s for s in created_statements(client) if "scim_requestlog" in s]
    assert "synchronous_commit" not in write_insert  # a write's row commits with the write, synchronously
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
    with client.in_tenant():
        assert list(RequestLog.objects.order_by("id").values_list("method", "status")) == [
            ("POST", 201), ("GET", 200), ("POST", 201)
        ]
    assert created.status == 201


def created_statements(client) -> list[str]:  # type: ignore[no-untyped-def]
    from tests.support.queries import count_queries

    with count_queries() as queries:
        assert client.create_user("second@acme.test").status == 201
    return queries.statements
