"""/healthz: public and terse, details for the operations token; /metrics: token only, bounded labels."""

from __future__ import annotations

import pytest
from django.test import Client

from observability.heartbeat import HEARTBEAT_KEY, record_heartbeat
from observability.metrics import EVENTS_PENDING, PREFIX, SCIM_REQUESTS, redis_client
from observability.periodic import DEGRADED_AFTER_FAILURES, PERIODIC_KEY, record_periodic_run

pytestmark = pytest.mark.django_db
TOKEN = "test-operations-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def ops_token(settings):
    settings.METRICS_TOKEN = TOKEN


@pytest.fixture
def no_heartbeats():
    client = redis_client()
    for pattern in (f"{HEARTBEAT_KEY}*", f"{PERIODIC_KEY}*"):
        for key in client.scan_iter(match=pattern):
            client.delete(key)
    yield
    for pattern in (f"{HEARTBEAT_KEY}*", f"{PERIODIC_KEY}*"):
        for key in client.scan_iter(match=pattern):
            client.delete(key)


def test_healthz_is_503_without_a_worker_heartbeat(no_heartbeats):
    r = Client().get("/healthz", headers=AUTH)
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is True
    assert body["checks"]["worker"]["ok"] is False


def test_healthz_is_200_with_a_fresh_worker_heartbeat(no_heartbeats):
    record_heartbeat("worker", "test@host")
    r = Client().get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_healthz_without_the_token_says_only_the_status(no_heartbeats):
    record_heartbeat("worker", "test@host")
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        r = Client().get("/healthz", headers=headers)
        assert r.json() == {"status": "ok"}, headers
        assert "test@host" not in r.content.decode()
    assert "test@host" in Client().get("/healthz", headers=AUTH).content.decode()


def test_a_periodic_task_that_keeps_failing_makes_healthz_degraded(no_heartbeats):
    record_heartbeat("worker", "test@host")
    for _ in range(DEGRADED_AFTER_FAILURES - 1):
        record_periodic_run("provisioning.sweep_outbox", failed_tenants=1)
    assert Client().get("/healthz").json() == {"status": "ok"}  # one or two failures are noise
    record_periodic_run("provisioning.sweep_outbox", failed_tenants=1)
    r = Client().get("/healthz", headers=AUTH)
    assert r.status_code == 200 and r.json()["status"] == "degraded"  # requests are still served
    assert r.json()["checks"]["periodic"]["failing"]["provisioning.sweep_outbox"]["last_error"] == "1 tenant(s) failed"
    record_periodic_run("provisioning.sweep_outbox")
    assert Client().get("/healthz").json() == {"status": "ok"}


def test_metrics_needs_the_token(settings):
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics", headers=AUTH).status_code == 404  # off unless configured


def test_metrics_serves_prometheus_text_with_scim_counters(scim):
    scim.get("/Users")
    SCIM_REQUESTS.inc(0)  # make sure the family exists even when empty
    r = Client().get("/metrics", headers=AUTH)
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/plain")
    text = r.content.decode()
    assert "rollcall_scim_requests_total" in text
    assert "rollcall_scim_request_seconds_bucket" in text


def _series(text: str) -> set[str]:
    return {line.split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}


def test_made_up_methods_and_statuses_do_not_grow_the_metrics(scim):
    redis_client().delete(PREFIX + SCIM_REQUESTS.name)
    scim.get("/Users")
    before = _series(Client().get("/metrics", headers=AUTH).content.decode())
    for i in range(300):
        SCIM_REQUESTS.inc(idp="generic", method=f"FOO{i}", resource=f"R{i}", status=str(1000 + i), extra=f"x{i}")
    after = _series(Client().get("/metrics", headers=AUTH).content.decode())
    grown = after - before
    assert len(grown) <= 1, grown  # all 300 land in one "other" series
    assert all('method="other"' in s and 'status="other"' in s and "extra" not in s for s in grown)


def test_code_defined_label_values_are_capped_per_label(scim):
    from observability.metrics import HANDLER_FAILURES, MAX_CODE_VALUES

    redis_client().delete(PREFIX + HANDLER_FAILURES.name)
    for i in range(MAX_CODE_VALUES + 50):
        HANDLER_FAILURES.inc(handler=f"h{i}")
    HANDLER_FAILURES.inc(handler="bad value with spaces")
    fields = redis_client().hkeys(PREFIX + HANDLER_FAILURES.name)
    assert len(fields) <= MAX_CODE_VALUES + 1
    assert b"handler=other" in fields


def test_pending_events_are_exposed_as_totals_without_tenant_names(tenant_a):
    redis_client().delete(PREFIX + EVENTS_PENDING.name)
    EVENTS_PENDING.set(3, tenant="t_secretcustomer")
    EVENTS_PENDING.set(4, tenant="t_othercustomer")
    EVENTS_PENDING.set(0, tenant="t_idle")
    try:
        text = Client().get("/metrics", headers=AUTH).content.decode()
    finally:
        redis_client().delete(PREFIX + EVENTS_PENDING.name)
    assert "customer" not in text and "t_idle" not in text
    assert "rollcall_events_pending 7.0" in text
    assert "rollcall_events_pending_tenants 2.0" in text


def test_the_container_probe_checks_this_hosts_worker_and_beat_heartbeats(no_heartbeats, settings):
    import os
    import socket
    import subprocess
    import sys

    from django.db import connection

    from config.database import libpq_url
    from tests.support.processes import ROOT

    env = {**os.environ, "REDIS_URL": settings.REDIS_URL, "DATABASE_URL": libpq_url(connection.settings_dict)}

    def probe(kind: str) -> int:
        return subprocess.run(
            [sys.executable, "-m", "config.probe", kind], cwd=ROOT, env=env, capture_output=True, timeout=60
        ).returncode

    assert probe("worker") == 1 and probe("beat") == 1
    record_heartbeat("worker", f"worker@{socket.gethostname()}")
    record_heartbeat("beat", socket.gethostname())
    assert probe("worker") == 0 and probe("beat") == 0
    assert probe("web") == 2  # usage error
