"""Issue 17's "done when" fault test, on `make run`'s own process layout.

The real supervisor (`manage.py rollcall_run`: web on the production HTTP server, the Celery
prefork worker, beat) runs on the test database and a private Redis. While SCIM creates keep
arriving over HTTP, Redis is SIGKILLed and restarted empty, and a worker pool process is
SIGKILLed. Every outbox event must reach a local webhook receiver (127.0.0.1), the worker must
reconnect instead of exiting, and the supervisor must keep the product up throughout.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from outbox.models import Event
from provisioning.webhooks import endpoints
from tenants.context import TenantRef, tenant_schema
from tenants.services import create_connection
from tests.ops.conftest import supervisor_env
from tests.provisioning.infra import RedisServer, webhook_receiver
from tests.support.actors import TEST_ACTOR
from tests.support.processes import RollcallRun, alive, wait_until
from tests.support.tenants import ensure_tenant

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
# A pool process SIGKILLed while sending holds its claimed deliveries for the batch lease
# (30 s + 50 x (ROLLCALL_WEBHOOK_TIMEOUT + 1) s = 130 s here) before they are sent again.
DELIVERY_WAIT = 200.0


def _create_users(base: str, token: str, prefix: str, count: int, results: list[int]) -> None:
    """POST users one by one; record each status (0 for a transport error). Bounded: `count` requests."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    with httpx.Client(headers=headers, timeout=10) as client:
        for i in range(count):
            body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"{prefix}{i}@faults.test"}
            try:
                results.append(client.post(f"{base}/Users", content=json.dumps(body)).status_code)
            except httpx.HTTPError:
                results.append(0)
            time.sleep(0.05)


def _pipeline_state(receiver) -> str:  # type: ignore[no-untyped-def]
    """What is stuck where, for a failure message."""
    from django.db.models import Count

    from provisioning.models import WebhookDelivery

    expected = set(Event.objects.values_list("seq", flat=True))
    got = {int(hit.headers["Rollcall-Event-Seq"]) for hit in receiver.hits("/events")}
    unhandled = list(Event.objects.filter(handled_at__isnull=True).values("seq", "type", "attempts", "last_error")[:5])
    deliveries = dict(WebhookDelivery.objects.values_list("status").annotate(n=Count("id")))
    stuck = list(
        WebhookDelivery.objects.exclude(status="succeeded").values("event_seq", "status", "attempts", "next_attempt_at", "lease_until", "last_error")[:5]
    )
    return f"missing seqs {sorted(expected - got)[:20]}, unhandled {unhandled}, deliveries {deliveries}, not succeeded {stuck}"


def test_redis_blip_and_a_killed_pool_process_lose_no_event(private_redis: RedisServer, tmp_path: Path, settings):
    settings.ROLLCALL_WEBHOOK_ALLOW_PRIVATE = True
    if private_redis.proc is None:
        private_redis.start()
    private_redis.client().flushall()
    tenant = TenantRef.of(ensure_tenant("faults", "Faults Inc"))
    issued = create_connection(tenant=ensure_tenant("faults", "Faults Inc"), idp="generic", actor=TEST_ACTOR)
    with webhook_receiver() as receiver:
        with tenant_schema(tenant):
            endpoints.create_endpoint(url=receiver.on("/events"))
        env = supervisor_env(tmp_path, redis_url=private_redis.url, ROLLCALL_WEBHOOK_TIMEOUT="1")
        run = RollcallRun(env, 0, tmp_path / "run.log")
        run.port = int(run.env["PORT"])
        base = f"{run.base_url}/scim/v2/{issued.connection.id}"
        try:
            run.start().wait_healthy()
            worker_pid = run.children()["worker"]
            pool_before = run.pool_processes()
            assert pool_before, "the worker runs a prefork pool"

            statuses: list[int] = []
            writer = threading.Thread(target=_create_users, args=(base, issued.token, "burst", 60, statuses))
            receiver.delay["/events"] = 3.0  # a slow receiver: a send task is in flight, unacked
            writer.start()
            wait_until(lambda: len(statuses) >= 10, timeout=30, what="the burst to start")
            wait_until(lambda: receiver.in_flight > 0, timeout=30, what="a webhook delivery in flight")
            private_redis.kill()  # mid-burst, mid-task: broker, cache and dispatch keys gone at once
            receiver.delay.clear()
            wait_until(lambda: len(statuses) >= 25, timeout=30, what="writes during the outage")
            private_redis.start()  # same port, empty
            wait_until(lambda: len(statuses) >= 40, timeout=30, what="writes after the outage")
            victim = wait_until(run.pool_processes, timeout=30, what="a pool process")[0]
            os.kill(victim, signal.SIGKILL)
            writer.join(60)
            assert not writer.is_alive()

            assert statuses.count(201) == len(statuses) == 60, f"every SCIM create must succeed: {statuses}"

            with tenant_schema(tenant):
                def every_event_delivered() -> bool:
                    expected = set(Event.objects.values_list("seq", flat=True))
                    got = {int(hit.headers["Rollcall-Event-Seq"]) for hit in receiver.hits("/events")}
                    return bool(expected) and expected <= got and not Event.objects.filter(handled_at__isnull=True).exists()

                try:
                    wait_until(every_event_delivered, timeout=DELIVERY_WAIT, interval=0.5, what="every event at the receiver")
                except AssertionError as exc:
                    raise AssertionError(f"{exc}: {_pipeline_state(receiver)}\n{run.log()[-3000:]}") from None
                seqs = sorted(Event.objects.values_list("seq", flat=True))
                created = Event.objects.filter(type="user.created").count()
            assert seqs == list(range(1, len(seqs) + 1)), "gap-free per-tenant sequence"
            assert created == 60
            got = {int(hit.headers["Rollcall-Event-Seq"]) for hit in receiver.hits("/events")}
            assert got == set(seqs)

            assert run.proc is not None and run.proc.poll() is None, "the supervisor kept the product up"
            assert run.children()["worker"] == worker_pid and alive(worker_pid), (
                "the worker reconnected instead of exiting:\n" + run.log()[-4000:]
            )
            assert "worker exited" not in run.log() and "worker was killed" not in run.log()
            wait_until(
                lambda: victim not in run.pool_processes() and len(run.pool_processes()) == len(pool_before),
                timeout=30,
                what="the killed pool process to be replaced",
            )
            # The worker's heartbeat (every 15 s) was lost with Redis' data; it reports itself again.
            wait_until(lambda: (r := run.healthz()) is not None and r.status_code == 200, timeout=40, what="healthz 200")
        finally:
            run.stop()
        assert run.proc is not None and run.proc.returncode == 0
        assert not run.leftovers()
