"""Nothing lost, nothing doubled: a real Redis (private, so it can be killed) and real Celery
worker processes on the test database. No mocks.

(a) Redis goes down while SCIM writes continue, comes back empty: every event is handled, in order,
    no effect twice (the beat sweeper re-dispatches what was never published).
(b) A worker is SIGKILLed inside a handler: the task is redelivered (acks_late + visibility timeout)
    and the event handled by the next worker; the killed attempt left nothing behind.
(c) The same event delivered again: effects happen once.
(d) A webhook endpoint that 500s is retried until it succeeds; a permanently failing one is
    dead-lettered and replayed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from config.database import libpq_url
from directory.models import OffboardingRecord
from outbox import queues, relay
from outbox.event_types import EventType
from outbox.models import Event
from provisioning import wakeups
from provisioning.handlers import handlers_for
from provisioning.models import HandlerRun, Notification, OutboundEmail, WebhookDelivery
from provisioning.webhooks import endpoints, signing
from tenants.context import TenantRef, tenant_schema
from tests.provisioning.infra import RedisServer, Worker, wait_for, webhook_receiver
from tests.provisioning.support import (
    change_members,
    make_group,
    make_user,
    map_group,
    patch_user_ops,
    set_active,
)
from tests.support.tenants import ensure_tenant

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
VISIBILITY_TIMEOUT = 2
WAIT = 45.0


def _database_url() -> str:
    """The test database on the server Django uses (a socket directory included: embedded defaults)."""
    return libpq_url(connection.settings_dict)


@pytest.fixture(autouse=True)
def local_webhooks(settings) -> None:  # type: ignore[no-untyped-def]
    settings.ROLLCALL_WEBHOOK_ALLOW_PRIVATE = True  # receivers listen on 127.0.0.1


@pytest.fixture
def worker_env(private_redis: RedisServer, tmp_path: Path) -> dict[str, str]:
    (tmp_path / "mail").mkdir()
    (tmp_path / "gate").mkdir()
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": private_redis.url,
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "ROLLCALL_OUTBOX_SWEEP_SECONDS": "1",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        "ROLLCALL_TEST_GATE_DIR": str(tmp_path / "gate"),
        "ROLLCALL_HANDLER_RETRY_BASE": "0.2",
        "ROLLCALL_WEBHOOK_ALLOW_PRIVATE": "1",
        "ROLLCALL_WEBHOOK_RETRY_BASE": "0.2",
        "ROLLCALL_WEBHOOK_RETRY_CAP": "0.5",
        "ROLLCALL_WEBHOOK_MAX_ATTEMPTS": "3",
        "ROLLCALL_WEBHOOK_FAILING_AFTER": "3",
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "INFO",
    }


@pytest.fixture
def workers(worker_env: dict[str, str], tmp_path: Path) -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.stop()


def start_worker(workers: list[Worker], env: dict[str, str], tmp_path: Path, name: str, *, beat: bool = False) -> Worker:
    worker = Worker(name, env, tmp_path, beat=beat)
    workers.append(worker)
    return worker.start()


def pending(tenant: TenantRef) -> int:
    with tenant_schema(tenant):
        return Event.objects.filter(handled_at__isnull=True).count()


def all_handled(tenant: TenantRef) -> bool:
    return pending(tenant) == 0


def all_mail_sent(tenant: TenantRef) -> bool:
    with tenant_schema(tenant):
        return not OutboundEmail.objects.filter(sent_at__isnull=True).exists()


def welcome_mails(maildir: Path) -> list[str]:
    lines = []
    for path in maildir.glob("*"):
        lines += [line for line in path.read_text(errors="replace").splitlines() if line.startswith("Subject: Welcome")]
    return lines


def assert_in_order_and_once(tenant: TenantRef) -> list[Event]:
    """Every event handled, handled in seq order, every builtin handler recorded exactly once."""
    with tenant_schema(tenant):
        events = list(Event.objects.order_by("seq"))
        runs: dict[int, list[str]] = {}
        for seq, name in HandlerRun.objects.values_list("seq", "handler"):
            runs.setdefault(seq, []).append(name)
    assert all(e.handled_at is not None for e in events)
    handled = [e.handled_at.timestamp() for e in events if e.handled_at is not None]
    assert handled == sorted(handled), "a later event was handled before an earlier one"
    for event in events:
        expected = {h.name for h in handlers_for(EventType(event.type))}
        names = [n for n in runs.get(event.seq, []) if n != "test_gate"]
        assert sorted(names) == sorted(expected), (event.seq, event.type, names)
    return events


def test_a_redis_outage_loses_no_event_and_doubles_no_effect(broker, workers, worker_env, tmp_path):
    tenant = TenantRef.of(ensure_tenant("outage", "Outage Inc"))
    start_worker(workers, worker_env, tmp_path, "outage", beat=True)
    with tenant_schema(tenant):
        before = [make_user(f"before{i}@outage.test") for i in range(5)]
        admins = make_group("Admins")
        map_group(admins, "admin")
    wait_for(lambda: all_handled(tenant), timeout=WAIT, what="events before the outage")

    broker.kill()
    started = time.monotonic()
    with tenant_schema(tenant):
        during = [make_user(f"during{i}@outage.test") for i in range(5)]
        for user in during[:3]:
            change_members(admins.id, "add", user.id)
        set_active(before[0].id, False)
    assert time.monotonic() - started < 5.0, "SCIM writes must not wait for the broker"
    broker.start()  # same port, but empty: queued tasks and dispatch requests are gone

    wait_for(lambda: all_handled(tenant), timeout=WAIT, what="the sweeper to catch up after the outage")
    # role.changed / user.access_revoked appended by handlers are handled too
    wait_for(lambda: all_handled(tenant), timeout=WAIT, what="follow-up events")
    events = assert_in_order_and_once(tenant)
    with tenant_schema(tenant):
        role_changes = [e for e in events if e.type == EventType.ROLE_CHANGED]
        assert sorted(e.resource_id for e in role_changes) == sorted(str(u.id) for u in during[:3])
        assert OffboardingRecord.objects.filter(user_id=before[0].id).count() == 1
        assert OutboundEmail.objects.filter(kind="welcome").count() == 10
    wait_for(lambda: all_mail_sent(tenant), timeout=WAIT, what="the outbox emails")
    assert len(welcome_mails(Path(worker_env["EMAIL_FILE_PATH"]))) == 10


def test_a_worker_killed_inside_a_handler_is_redelivered_and_leaves_no_trace(broker, workers, worker_env, tmp_path):
    tenant = TenantRef.of(ensure_tenant("crash", "Crash Inc"))
    gate = Path(worker_env["ROLLCALL_TEST_GATE_DIR"])
    first = start_worker(workers, worker_env, tmp_path, "crash1")  # no beat: only redelivery can help
    with tenant_schema(tenant):
        user = make_user("gated@crash.test")
    wait_for(lambda: all_handled(tenant), timeout=WAIT, what="user.created")

    with tenant_schema(tenant):
        patch_user_ops(user.id, {"op": "replace", "path": "title", "value": "gate"})
        seq = Event.objects.get(type=EventType.USER_UPDATED).seq
    wait_for(lambda: (gate / "entered").exists(), timeout=WAIT, what="the worker to enter the gated handler")
    first.kill()
    with tenant_schema(tenant):
        event = Event.objects.get(seq=seq)
        assert event.handled_at is None and event.attempts == 0
        assert not HandlerRun.objects.filter(seq=seq).exists()

    (gate / "open").touch()
    time.sleep(VISIBILITY_TIMEOUT + 0.5)  # the unacked message becomes visible again
    start_worker(workers, worker_env, tmp_path, "crash2")
    wait_for(lambda: all_handled(tenant), timeout=WAIT, what="the redelivered task to handle the event")

    assert (gate / "entered").read_text().split() == [str(seq), str(seq)]  # ran twice...
    assert_in_order_and_once(tenant)
    with tenant_schema(tenant):
        assert HandlerRun.objects.filter(seq=seq, handler="test_gate").count() == 1  # ...took effect once
        assert Event.objects.get(seq=seq).attempts == 1  # the killed attempt rolled back entirely


@pytest.fixture
def shared_worker(workers, worker_env, tmp_path) -> Worker:
    return start_worker(workers, worker_env, tmp_path, "shared")


def test_the_same_event_delivered_twice_takes_effect_once(broker, shared_worker, worker_env):
    tenant = TenantRef.of(ensure_tenant("twice", "Twice Inc"))
    with webhook_receiver() as receiver:
        with tenant_schema(tenant):
            endpoints.create_endpoint(url=receiver.on("/h"))
            user = make_user("once@twice.test")
        wait_for(lambda: all_handled(tenant), timeout=WAIT, what="user.created")
        wait_for(lambda: receiver.hits("/h"), timeout=WAIT, what="the webhook")
        with tenant_schema(tenant):
            created = Event.objects.get(type=EventType.USER_CREATED, resource_id=str(user.id))
            delivery = WebhookDelivery.objects.get(event_seq=created.seq)
            # A redelivery that raced the handled mark, twice, plus a duplicated send task.
            Event.objects.filter(seq=created.seq).update(handled_at=None)
        for _ in range(2):
            assert wakeups.schedule_dispatch(tenant.schema_name)
            assert relay.publish(
                queues.SEND_OUTBOUND_TASK, [tenant.schema_name, [delivery.pk]], queue=queues.OUTBOUND_QUEUE
            )
        wait_for(lambda: all_handled(tenant), timeout=WAIT, what="the redelivered event")
        time.sleep(0.5)  # let the duplicate send tasks run
        assert len(receiver.hits("/h")) == 1
    assert_in_order_and_once(tenant)
    with tenant_schema(tenant):
        assert WebhookDelivery.objects.filter(event_seq=created.seq).count() == 1
        assert OutboundEmail.objects.count() == 1
    wait_for(lambda: all_mail_sent(tenant), timeout=WAIT, what="the welcome email")
    time.sleep(0.3)
    assert len(welcome_mails(Path(worker_env["EMAIL_FILE_PATH"]))) == 1


def test_webhooks_retry_until_success_and_dead_letters_can_be_replayed(broker, shared_worker):
    tenant = TenantRef.of(ensure_tenant("hooks", "Hooks Inc"))
    with webhook_receiver() as receiver:
        with tenant_schema(tenant):
            flaky = endpoints.create_endpoint(url=receiver.on("/flaky", 500, 500))
            down = endpoints.create_endpoint(url=receiver.on("/down", then=500))
            make_user("ada@hooks.test")

        def status_of(endpoint) -> str | None:
            with tenant_schema(tenant):
                row = WebhookDelivery.objects.filter(endpoint_id=endpoint.endpoint.id).first()
                return row.status if row else None

        wait_for(lambda: status_of(flaky) == "succeeded", timeout=WAIT, what="the flaky endpoint to succeed")
        wait_for(lambda: status_of(down) == "dead", timeout=WAIT, what="the dead letter")
        hits = receiver.hits("/flaky")
        assert len(hits) == 3 and len({h.body for h in hits}) == 1
        assert signing.verify(flaky.secret, hits[-1].headers["Rollcall-Signature"], hits[-1].body)
        assert len(receiver.hits("/down")) == 3
        with tenant_schema(tenant):
            assert Notification.objects.filter(dedupe_key=f"webhook_dead:{down.endpoint.id}").exists()

        receiver.on("/down", then=200)
        out = StringIO()
        call_command(
            "rollcall_webhooks", "replay", "--tenant", tenant.slug, "--endpoint", str(down.endpoint.id),
            "--dead-only", "--json", stdout=out,
        )
        assert '"replayed": 1' in out.getvalue()
        wait_for(lambda: status_of(down) == "succeeded", timeout=WAIT, what="the replayed delivery")
        assert len(receiver.hits("/down")) == 4
