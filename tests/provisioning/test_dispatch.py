"""The dispatcher: per-tenant seq order, stop-at-failure with backoff, idempotent redelivery."""

from __future__ import annotations

import json
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.database import libpq_url
from outbox.event_types import EventType
from outbox.models import Event
from provisioning import drain as pipeline
from provisioning.handlers import HandlerContext, register, unregister
from provisioning.models import HandlerRun, Notification, OutboundEmail
from tenants.context import tenant_schema
from tests.provisioning.support import drain, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def recorder():
    """A test handler on user.updated that records the order it saw events in, failing on demand."""
    seen: list[tuple[str, int]] = []
    failing: set[str] = set()

    @register("test_recorder", [EventType.USER_CREATED, EventType.USER_UPDATED], order=0)
    def record(ctx: HandlerContext) -> None:
        name = str(ctx.payload["user"]["user_name"])
        if name in failing:
            raise RuntimeError(f"downstream refused {name}")
        seen.append((ctx.tenant.schema_name, ctx.seq))

    yield seen, failing
    unregister("test_recorder")


def test_events_are_handled_in_seq_order_and_marked_handled(acme, recorder):
    seen, _ = recorder
    with tenant_schema(acme):
        for i in range(5):
            make_user(f"u{i}@acme.test")
    assert drain(acme) >= 5
    with tenant_schema(acme):
        events = list(Event.objects.order_by("seq"))
        assert all(e.handled_at is not None and e.attempts == 1 and e.dispatched_at for e in events)
        handled = [e.handled_at.timestamp() for e in events if e.handled_at is not None]
        assert handled == sorted(handled)
    user_created_seqs = [e.seq for e in events if e.type == EventType.USER_CREATED]
    assert [seq for schema, seq in seen if schema == acme.schema_name] == user_created_seqs


def test_failing_handler_stops_the_tenant_queue_at_that_event_and_backs_off(acme, bravo, recorder, settings):
    seen, failing = recorder
    failing.add("b@acme.test")
    with tenant_schema(acme):
        make_user("a@acme.test")
        make_user("b@acme.test")
        make_user("c@acme.test")
    with tenant_schema(bravo):
        make_user("x@bravo.test")

    result = pipeline.dispatch_tenant(acme.schema_name)
    bravo_result = pipeline.dispatch_tenant(bravo.schema_name)

    assert result.failed_seq is not None and result.failed_now and result.retry_in == pytest.approx(1.0)
    with tenant_schema(acme):
        failed = Event.objects.get(seq=result.failed_seq)
        assert failed.handled_at is None and failed.attempts == 1
        assert failed.last_error.startswith("test_recorder: RuntimeError: downstream refused b@acme.test")
        assert failed.retry_at is not None and failed.retry_at > timezone.now()
        later = Event.objects.filter(seq__gt=failed.seq)
        assert later.exists() and not later.filter(handled_at__isnull=False).exists()  # order: c waits for b
    assert bravo_result.handled >= 1 and bravo_result.failed_seq is None  # other tenants continue

    # While backing off, a dispatch does nothing (and is not counted as a new failure).
    again = pipeline.dispatch_tenant(acme.schema_name)
    assert again.handled == 0 and again.failed_seq == result.failed_seq and not again.failed_now

    # The downstream recovers; after the backoff the queue resumes from the failed event, in order.
    failing.clear()
    with tenant_schema(acme):
        Event.objects.filter(seq=result.failed_seq).update(retry_at=timezone.now() - timedelta(seconds=1))
    assert drain(acme) >= 2
    with tenant_schema(acme):
        assert not Event.objects.filter(handled_at__isnull=True).exists()
        assert Event.objects.get(seq=result.failed_seq).attempts == 2
    acme_seen = [seq for schema, seq in seen if schema == acme.schema_name]
    assert acme_seen == sorted(acme_seen)


def test_backoff_grows_exponentially_up_to_the_cap():
    from provisioning.tunables import pipeline_config

    conf = pipeline_config()
    delays = [pipeline.handler_retry_seconds(n, conf) for n in (1, 2, 3, 4, 20)]
    assert delays[:4] == [1.0, 2.0, 4.0, 8.0]
    assert delays[4] == conf.handler_retry_cap


def test_a_stuck_event_raises_one_admin_alert(acme, recorder, settings, mailoutbox):
    _, failing = recorder
    failing.add("stuck@acme.test")
    settings.ROLLCALL_HANDLER_STUCK_AFTER = 2
    with tenant_schema(acme):
        make_user("stuck@acme.test")
    for _ in range(3):
        with tenant_schema(acme):
            Event.objects.filter(handled_at__isnull=True).update(retry_at=None)
        pipeline.dispatch_tenant(acme.schema_name)
    with tenant_schema(acme):
        alerts = list(Notification.objects.filter(kind=Notification.Kind.PIPELINE_STUCK))
    assert len(alerts) == 1 and "paused at event" in alerts[0].title


def test_redelivered_event_skips_handlers_that_already_ran(acme, mailoutbox):
    """Effects happen once: a second processing of the same event (e.g. a redelivered task that
    raced the handled mark) finds every handler in the HandlerRun ledger."""
    with tenant_schema(acme):
        user = make_user("once@acme.test")
    drain(acme)
    with tenant_schema(acme):
        created = Event.objects.get(type=EventType.USER_CREATED, resource_id=str(user.id))
        runs_before = set(HandlerRun.objects.filter(seq=created.seq).values_list("handler", flat=True))
        events_before = Event.objects.count()
        Event.objects.filter(seq=created.seq).update(handled_at=None)
        outcome = pipeline.process_event(acme, Event.objects.get(seq=created.seq))
        assert outcome.ok
        assert set(HandlerRun.objects.filter(seq=created.seq).values_list("handler", flat=True)) == runs_before
        assert {"welcome_email", "role_recompute", "webhook_fanout"} <= runs_before
        assert Event.objects.count() == events_before  # no second role.changed, no new events
        assert OutboundEmail.objects.filter(kind="welcome").count() == 1
    assert len(mailoutbox) == 1


def test_unknown_event_type_blocks_the_queue_instead_of_skipping(acme):
    with tenant_schema(acme):
        make_user("first@acme.test")
        drain(acme)
        seq = max(Event.objects.values_list("seq", flat=True)) + 1
        Event.objects.create(seq=seq, type="user.teleported", actor="system:test", payload={})
    result = pipeline.dispatch_tenant(acme.schema_name)
    assert result.failed_seq == seq
    with tenant_schema(acme):
        assert "unknown event type" in Event.objects.get(seq=seq).last_error


def test_only_one_dispatcher_runs_per_tenant(acme):
    with tenant_schema(acme):
        make_user("locked@acme.test")
    other = psycopg.connect(libpq_url(connection.settings_dict), autocommit=True)
    try:
        other.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [f"rollcall.dispatch:{acme.schema_name}"])
        result = pipeline.dispatch_tenant(acme.schema_name)
        assert result.locked_out and result.handled == 0
    finally:
        other.close()
    assert pipeline.dispatch_tenant(acme.schema_name).handled >= 1


def test_dispatch_of_an_unknown_schema_does_nothing():
    result = pipeline.dispatch_tenant("t_does_not_exist")
    assert result.handled == 0 and result.failed_seq is None


def test_task_arguments_survive_a_json_round_trip():
    from provisioning import tasks

    assert json.loads(json.dumps(["t_acme"])) == ["t_acme"]
    assert json.loads(json.dumps(["t_acme", [1, 2, 3]])) == ["t_acme", [1, 2, 3]]
    assert tasks.dispatch_tenant_events.name == "provisioning.dispatch_tenant_events"
    assert tasks.dispatch_tenant_events.acks_late and tasks.send_outbound.acks_late
    assert settings.CELERY_TASK_SERIALIZER == "json"


def test_a_failing_handler_rolls_back_every_effect_of_its_event(acme, mailoutbox):
    @register("test_breaks_last", [EventType.USER_CREATED], order=99)
    def breaks(ctx: HandlerContext) -> None:
        raise RuntimeError("late failure")

    try:
        with tenant_schema(acme):
            from provisioning.webhooks import endpoints

            endpoints.create_endpoint(url="https://hooks.example.com/x")
            make_user("ada@acme.test")
        result = pipeline.dispatch_tenant(acme.schema_name)
        with tenant_schema(acme):
            from provisioning.models import WebhookDelivery

            assert result.failed_seq is not None
            assert not HandlerRun.objects.exists()
            assert not OutboundEmail.objects.exists() and not WebhookDelivery.objects.exists()
            assert Event.objects.get(seq=result.failed_seq).last_error.startswith("test_breaks_last: RuntimeError")
    finally:
        unregister("test_breaks_last")
    with tenant_schema(acme):
        Event.objects.update(retry_at=None)
    drain(acme)
    with tenant_schema(acme):
        assert OutboundEmail.objects.count() == 1 and HandlerRun.objects.count() >= 3
    assert len(mailoutbox) == 1


def test_a_locked_out_wake_up_is_republished_by_the_holder(acme, broker):
    """A task that finds the tenant locked raises the "missed" flag; the holder re-publishes after
    unlocking, behind other tenants' work, instead of looping on this tenant."""
    from outbox import queues
    from provisioning import wakeups

    with tenant_schema(acme):
        make_user("late@acme.test")
    wakeups.flag_missed_dispatch(acme.schema_name)  # as a locked-out task would have
    result = pipeline.dispatch_tenant(acme.schema_name)
    assert result.handled >= 1
    queued = broker.client().lrange(queues.EVENTS_QUEUE, 0, -1)
    assert len(queued) == 1 and json.loads(queued[0])["headers"]["task"] == queues.DISPATCH_TASK
    assert not wakeups.take_missed_dispatch(acme.schema_name)  # consumed
