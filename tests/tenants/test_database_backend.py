"""The backend's round-trip savings: no repeated SET search_path, no ping of a connection in use."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connections, transaction

from tenants.postgresql_backend import base as backend
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db
connection: Any = connections["default"]  # the backend's DatabaseWrapper, with its schema methods


def _search_path_sets(fn) -> int:  # type: ignore[no-untyped-def]
    with count_queries() as queries:
        fn()
    return len([s for s in queries.statements if s.startswith("SET search_path")])


def test_a_second_request_for_the_same_tenant_sends_no_set_search_path(scim, scim_b):
    scim_b.get("/Users?count=1")  # each connection's first request also resolves its tenant
    scim.get("/Users?count=1")  # tenant A's search_path is now the session's
    assert _search_path_sets(lambda: scim.get("/Users?count=1")) == 0
    assert _search_path_sets(lambda: scim_b.get("/Users?count=1")) == 1  # another tenant: one SET
    assert _search_path_sets(lambda: scim.get("/Users?count=1")) == 1  # and back


def test_the_session_search_path_is_the_one_queries_see(scim, scim_b, tenant_a, tenant_b):
    """Whatever the backend skips, each request reads its own tenant's rows."""
    scim.create_user("only-in-a@acme.test")
    for _ in range(2):
        assert scim.get('/Users?filter=userName eq "only-in-a@acme.test"')["totalResults"] == 1
        assert scim_b.get('/Users?filter=userName eq "only-in-a@acme.test"')["totalResults"] == 0
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        assert cursor.fetchone()[0] == "public"


def test_a_rolled_back_set_is_sent_again(tenant_a):
    connection.set_tenant(tenant_a)
    with count_queries() as queries:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")  # the SET happens inside the transaction...
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        connection.set_tenant(tenant_a)  # ...so the rollback undid it: it must be sent again
        with connection.cursor() as cursor:
            cursor.execute("SHOW search_path")
            shown = cursor.fetchone()[0]
    assert shown.startswith(tenant_a.schema_name)
    assert len(queries.touching("SET search_path")) == 2


def _pings(fn, monkeypatch) -> int:  # type: ignore[no-untyped-def]
    """Health checks run (each one is a SELECT 1 round trip in Django's is_usable)."""
    calls: list[bool] = []
    wrapper = connections["default"]
    real = type(wrapper).is_usable
    def counted(self: Any) -> bool:
        calls.append(True)
        return bool(real(self))

    monkeypatch.setattr(type(wrapper), "is_usable", counted)
    fn()
    monkeypatch.setattr(type(wrapper), "is_usable", real)
    return len(calls)


def _new_request() -> None:
    """What Django does at a request's start: the next query first runs the health check."""
    connection.health_check_done = False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 2")


def test_a_connection_used_within_the_second_is_not_pinged(monkeypatch):
    monkeypatch.setattr(connection, "health_check_enabled", True)
    _new_request()
    assert _pings(_new_request, monkeypatch) == 0
    monkeypatch.setattr(connection, "_confirmed_at", connection._confirmed_at - backend.HEALTH_CHECK_IDLE_SECONDS - 0.1)
    assert _pings(_new_request, monkeypatch) == 1  # idle for longer: checked before use
    assert _pings(_new_request, monkeypatch) == 0
