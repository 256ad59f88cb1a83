"""/healthz reports each dependency; /metrics is Prometheus text."""

from __future__ import annotations

import pytest
from django.test import Client

from observability.heartbeat import HEARTBEAT_KEY, record_heartbeat
from observability.metrics import SCIM_REQUESTS, redis_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_heartbeats():
    client = redis_client()
    for key in client.scan_iter(match=f"{HEARTBEAT_KEY}*"):
        client.delete(key)
    yield
    for key in client.scan_iter(match=f"{HEARTBEAT_KEY}*"):
        client.delete(key)


def test_healthz_is_503_without_a_worker_heartbeat(no_heartbeats):
    r = Client().get("/healthz")
    assert r.status_code == 503
    body = r.json()
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is True
    assert body["checks"]["worker"]["ok"] is False


def test_healthz_is_200_with_a_fresh_worker_heartbeat(no_heartbeats):
    record_heartbeat("worker", "test@host")
    r = Client().get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_metrics_serves_prometheus_text_with_scim_counters(scim):
    scim.get("/Users")
    SCIM_REQUESTS.inc(0)  # make sure the family exists even when empty
    r = Client().get("/metrics")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/plain")
    text = r.content.decode()
    assert "rollcall_scim_requests_total" in text
    assert "rollcall_scim_request_seconds_bucket" in text
